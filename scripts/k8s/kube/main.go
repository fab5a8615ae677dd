// Command kube is the upstream Kubernetes control plane (API server,
// controller-manager, scheduler) in one multi-call binary, built from Go
// modules so tests run a real control plane without Docker or prebuilt
// downloads. One binary because the three share most of their code: one
// link instead of three on a 2-core machine. The wrapper module exists only
// because `go install` refuses k8s.io/kubernetes (its go.mod points staging
// modules at local paths); go.mod pins each staging module instead.
//
// Usage: kube kube-apiserver|kube-controller-manager|kube-scheduler [flags]
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() {
	commands := map[string]func() *cobra.Command{
		"kube-apiserver":          apiserver.NewAPIServerCommand,
		"kube-controller-manager": controllermanager.NewControllerManagerCommand,
		"kube-scheduler":          func() *cobra.Command { return scheduler.NewSchedulerCommand() },
	}
	if len(os.Args) < 2 || commands[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: kube kube-apiserver|kube-controller-manager|kube-scheduler [flags]")
		os.Exit(2)
	}
	name := os.Args[1]
	os.Args = append([]string{name}, os.Args[2:]...)
	os.Exit(cli.Run(commands[name]()))
}
