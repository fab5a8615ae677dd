# The resource metrics API of the test cluster, sourced by scripts/kube.sh
# (uses its $dir, $port, $pki, $bin, start_bg, curl_k, fail, free_port and
# node.sh's NODE_IP, NODE_POOL_LABEL).
#
# metrics-server (built by scripts/k8s/build.sh from Go modules) runs as a
# host process, like the control plane, and scrapes the real node's kubelet
# (/metrics/resource, every 15 s: the shortest resolution it accepts is 10 s,
# the kubelet's own stats housekeeping is about that). The kube-apiserver
# serves its API through API aggregation:
#   - a front-proxy CA and client certificate: the API server proxies
#     /apis/metrics.k8s.io/... with that certificate and the caller's identity
#     in X-Remote-* headers, which metrics-server trusts (it reads the CA and
#     header names from kube-system/extension-apiserver-authentication);
#   - the APIService v1beta1.metrics.k8s.io names the Service
#     kube-system/metrics-server (no selector), whose EndpointSlice, written
#     here, names the host's bridge address and metrics-server's port; with
#     --enable-aggregator-routing the API server connects to that endpoint
#     rather than to the ClusterIP;
#   - metrics-server's own identity (client certificate CN system:metrics-server)
#     with the RBAC upstream's manifests give it: system:auth-delegator
#     (TokenReviews and SubjectAccessReviews for the callers the API server
#     forwards), the extension-apiserver-authentication-reader Role in
#     kube-system, and get/list/watch of pods and nodes plus get of
#     nodes/metrics (the kubelet authorizes its scrapes with a
#     SubjectAccessReview).
# The kwok nodes have no kubelet: --node-selector limits scraping to the real
# node. Without the real node metrics-server does not run (no kubelet to
# read) and the cluster has no metrics API, as a cluster without
# metrics-server has none.
METRICS_NS=kube-system
METRICS_SVC=metrics-server

# The front-proxy CA and client certificate (API server → aggregated APIs),
# metrics-server's serving certificate (the API server checks it against the
# APIService's caBundle, for the Service's DNS name) and its client
# certificate (API server and kubelet). Made once per cluster directory.
metrics_certs() {
  [ -f "$pki/metrics-server.crt" ] && return 0
  (
    cd "$pki"
    key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null; }
    key front-proxy-ca.key
    openssl req -x509 -new -key front-proxy-ca.key -subj "/CN=atrium-test-front-proxy-ca" -days 3650 -out front-proxy-ca.crt 2>/dev/null
    sign() { # name subject ca extfile
      key "$1.key"
      openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
      openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial -days 3650 -extfile "$4" -out "$1.crt" 2>/dev/null
    }
    printf 'extendedKeyUsage=clientAuth\n' > client.ext
    sign front-proxy-client "/CN=front-proxy-client" front-proxy-ca client.ext
    sign metrics-server-client "/CN=system:metrics-server" ca client.ext
    printf 'subjectAltName=DNS:%s.%s.svc,DNS:%s.%s.svc.cluster.local,IP:%s\nextendedKeyUsage=serverAuth\n' \
      "$METRICS_SVC" "$METRICS_NS" "$METRICS_SVC" "$METRICS_NS" "$NODE_IP" > metrics-server.ext
    sign metrics-server "/CN=$METRICS_SVC.$METRICS_NS.svc" ca metrics-server.ext
  )
}

# The API server's flags for API aggregation.
metrics_apiserver_flags() {
  aggregation=(
    --requestheader-client-ca-file "$pki/front-proxy-ca.crt"
    --requestheader-allowed-names front-proxy-client
    --requestheader-extra-headers-prefix X-Remote-Extra-
    --requestheader-group-headers X-Remote-Group
    --requestheader-username-headers X-Remote-User
    --proxy-client-cert-file "$pki/front-proxy-client.crt"
    --proxy-client-key-file "$pki/front-proxy-client.key"
    --enable-aggregator-routing=true
  )
}

# Create or update an object (server-side apply: a restart in the same
# directory gets the new port).
apply() { # path json
  local code
  code=$(curl_k -o "$dir/apply.out" -w '%{http_code}' -X PATCH -H 'Content-Type: application/apply-patch+yaml' \
    "https://127.0.0.1:$port$1?fieldManager=kube.sh&force=true" -d "$2")
  [ "$code" = 200 ] || [ "$code" = 201 ] || fail "apply $1 answered $code: $(cat "$dir/apply.out")"
}

# After the API server is ready (and the node's bridge, which holds NODE_IP,
# exists): RBAC, the Service and its endpoint, the process, the APIService.
# metrics-server scrapes at once and then every resolution: the node, which
# registers a few seconds later, is first read at the next one.
metrics_start() {
  local ms_port kc="$dir/metrics-server.kubeconfig"
  ms_port=$(free_port)
  apply /apis/rbac.authorization.k8s.io/v1/clusterroles/system:metrics-server \
    '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"system:metrics-server"},
      "rules":[{"apiGroups":[""],"resources":["nodes/metrics"],"verbs":["get"]},
               {"apiGroups":[""],"resources":["pods","nodes"],"verbs":["get","list","watch"]}]}'
  apply /apis/rbac.authorization.k8s.io/v1/clusterrolebindings/system:metrics-server \
    '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"system:metrics-server"},
      "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"system:metrics-server"},
      "subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"system:metrics-server"}]}'
  apply /apis/rbac.authorization.k8s.io/v1/clusterrolebindings/metrics-server:system:auth-delegator \
    '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"metrics-server:system:auth-delegator"},
      "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"system:auth-delegator"},
      "subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"system:metrics-server"}]}'
  apply "/apis/rbac.authorization.k8s.io/v1/namespaces/$METRICS_NS/rolebindings/metrics-server-auth-reader" \
    "{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"RoleBinding\",\"metadata\":{\"name\":\"metrics-server-auth-reader\",\"namespace\":\"$METRICS_NS\"},
      \"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Role\",\"name\":\"extension-apiserver-authentication-reader\"},
      \"subjects\":[{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"User\",\"name\":\"system:metrics-server\"}]}"
  apply "/api/v1/namespaces/$METRICS_NS/services/$METRICS_SVC" \
    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"$METRICS_SVC\",\"namespace\":\"$METRICS_NS\"},
      \"spec\":{\"ports\":[{\"name\":\"https\",\"port\":443,\"protocol\":\"TCP\",\"targetPort\":$ms_port}]}}"
  apply "/apis/discovery.k8s.io/v1/namespaces/$METRICS_NS/endpointslices/$METRICS_SVC-host" \
    "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",
      \"metadata\":{\"name\":\"$METRICS_SVC-host\",\"namespace\":\"$METRICS_NS\",
        \"labels\":{\"kubernetes.io/service-name\":\"$METRICS_SVC\",\"endpointslice.kubernetes.io/managed-by\":\"kube.sh\"}},
      \"addressType\":\"IPv4\",
      \"endpoints\":[{\"addresses\":[\"$NODE_IP\"],\"conditions\":{\"ready\":true}}],
      \"ports\":[{\"name\":\"https\",\"port\":$ms_port,\"protocol\":\"TCP\"}]}"
  cat > "$kc" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: atrium-test
  cluster: {server: "https://127.0.0.1:$port", certificate-authority: "$pki/ca.crt"}
users:
- name: metrics-server
  user: {client-certificate: "$pki/metrics-server-client.crt", client-key: "$pki/metrics-server-client.key"}
contexts:
- name: c
  context: {cluster: atrium-test, user: metrics-server}
current-context: c
EOF
  # The kubelet's serving certificate is signed by the cluster CA for
  # NODE_IP, so the scrape verifies it (no --kubelet-insecure-tls); its port
  # is random per cluster, so metrics-server takes it from the node's status.
  metrics_started=$(date +%s%N)
  start_bg metrics-server "$bin/metrics-server" \
    --kubeconfig "$kc" --authentication-kubeconfig "$kc" --authorization-kubeconfig "$kc" \
    --bind-address "$NODE_IP" --secure-port "$ms_port" \
    --tls-cert-file "$pki/metrics-server.crt" --tls-private-key-file "$pki/metrics-server.key" \
    --kubelet-certificate-authority "$pki/ca.crt" \
    --kubelet-preferred-address-types InternalIP --kubelet-use-node-status-port \
    --node-selector "$NODE_POOL_LABEL=real" \
    --metric-resolution 15s --v 1
  # Registered last: the API server finds it Available once metrics-server
  # serves (about 2 s), rather than unreachable from the start.
  apply /apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io \
    "{\"apiVersion\":\"apiregistration.k8s.io/v1\",\"kind\":\"APIService\",\"metadata\":{\"name\":\"v1beta1.metrics.k8s.io\"},
      \"spec\":{\"group\":\"metrics.k8s.io\",\"version\":\"v1beta1\",\"groupPriorityMinimum\":100,\"versionPriority\":100,
        \"service\":{\"name\":\"$METRICS_SVC\",\"namespace\":\"$METRICS_NS\",\"port\":443},
        \"caBundle\":\"$(base64 -w0 < "$pki/ca.crt")\"}}"
}

# Without the real node: no metrics API. A cluster directory started before
# with the node keeps its APIService in storage; left pointing at nothing, it
# would make discovery incomplete, and the namespace controller (which
# discovers every resource to empty a namespace) would stall on it.
metrics_unregister() {
  local code
  code=$(curl_k -o "$dir/apply.out" -w '%{http_code}' -X DELETE \
    "https://127.0.0.1:$port/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io")
  [ "$code" = 200 ] || [ "$code" = 404 ] || fail "DELETE APIService v1beta1.metrics.k8s.io answered $code: $(cat "$dir/apply.out")"
}

# The metrics API answers through the API server (the APIService is
# Available): an empty node list until the first scrape with two points.
metrics_wait() {
  local code=
  for i in $(seq 600); do
    code=$(curl_k -o "$dir/metrics.out" -w '%{http_code}' "https://127.0.0.1:$port/apis/metrics.k8s.io/v1beta1/nodes" 2>/dev/null || true)
    [ "$code" = 200 ] && break
    kill -0 "$(cat "$dir/metrics-server.pid")" 2>/dev/null || fail "metrics-server exited"
    [ "$i" = 600 ] && fail "the metrics API (/apis/metrics.k8s.io/v1beta1/nodes) did not answer in 60 s (last: $code $(head -c 300 "$dir/metrics.out" 2>/dev/null))"
    sleep 0.1
  done
  echo "kube.sh: metrics API answering $(( ($(date +%s%N) - metrics_started) / 1000000 )) ms after metrics-server started" >&2
}
