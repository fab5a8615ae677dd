// Command coredns is upstream CoreDNS with only the plugins the test node's
// cluster DNS uses (the kubernetes plugin for <svc>.<ns>.svc.cluster.local,
// forward for everything else). The full CoreDNS main also links the cloud
// DNS plugins (AWS, Azure, Google SDKs); leaving them out keeps the cold
// build short. Plugin order stays CoreDNS's own (dnsserver.Directives).
package main

import (
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/ready"

	"github.com/coredns/coredns/coremain"
)

func main() {
	coremain.Run()
}
