#!/usr/bin/env bash
# End-to-end check of the images, the operator chart and the ApiBase lifecycle on a throwaway kind cluster.
#
#   scripts/e2e-kind.sh                       # core flow: no Istio, no Dapr, no Vault
#   scripts/e2e-kind.sh --with-vault          # + an OpenBao dev server and a secret rotation
#   scripts/e2e-kind.sh --all --keep-cluster  # everything, and leave the cluster up to look around
#
# Steps: create the cluster -> build both images (Dockerfile targets service and operator) and `kind load` them
# -> [Istio] [Dapr] [OpenBao] -> `helm install` charts/apibase-operator -> apply manifests/samples/apibase-minimal.yaml
# with the image just built -> `kubectl wait --for=condition=Ready` -> port-forward: /health/ready and a product
# CRUD round trip on /api/v1/products -> [Istio/Dapr: sidecars and mesh objects] -> [Dapr: an order placed reaches
# the catalog's sales counter through daprd] -> start a canary and watch
# .status.canaryWeight move until it is promoted -> [Vault: rotate a secret, watch the Secret, the hash and the
# rollout follow] -> delete the ApiBase and check every owned object is gone. The cluster is deleted on exit
# (trap), unless it existed before the run or --keep-cluster is given.
#
# Needs: docker (a running daemon, BuildKit), kind, kubectl, helm (on PATH or from scripts/install-helm.sh), curl,
# python3 (JSON parsing). The operator chart needs Kubernetes 1.31 or later: kind v0.24+ or KIND_NODE_IMAGE.
# Environment: KIND_CLUSTER_NAME (apibase-e2e), KIND_NODE_IMAGE, E2E_IMAGE_TAG (e2e), E2E_TIMEOUT (seconds, 300),
# E2E_LOCAL_PORT (18080), OPERATOR_CHART (charts/apibase-operator, or a packaged .tgz), ISTIO_VERSION, DAPR_VERSION,
# OPENBAO_IMAGE.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLUSTER_NAME=${KIND_CLUSTER_NAME:-apibase-e2e}
TAG=${E2E_IMAGE_TAG:-e2e}
TIMEOUT=${E2E_TIMEOUT:-300}
LOCAL_PORT=${E2E_LOCAL_PORT:-18080}
SERVICE_IMAGE="apibase-service:${TAG}"
CANARY_IMAGE="apibase-service:${TAG}-canary"
OPERATOR_IMAGE="apibase-operator:${TAG}"
OPERATOR_NAMESPACE=apibase-system
RELEASE=apibase-operator
CHART=${OPERATOR_CHART:-"${ROOT}/charts/apibase-operator"}
CRD="${ROOT}/operator/apibase_operator/crd/apibase.dev_apibases.yaml"
SAMPLE="${ROOT}/manifests/samples/apibase-minimal.yaml"
OPENBAO_IMAGE=${OPENBAO_IMAGE:-quay.io/openbao/openbao:2.5.4}
VAULT_NAMESPACE=vault
VAULT_ADDRESS="http://openbao.${VAULT_NAMESPACE}.svc:8200"
VAULT_TOKEN_SECRET=openbao-token
OWNED_LABELS="app.kubernetes.io/managed-by=apibase-operator"

WITH_ISTIO=0
WITH_DAPR=0
WITH_VAULT=0
KEEP_CLUSTER=0
SKIP_BUILD=0
HELM_EXTRA=()

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
  cat <<'EOF'

Options:
  --with-istio      install Istio (helm: istio/base, istio/istiod) and put the service in the mesh
  --with-dapr       install Dapr (helm: dapr/dapr) and give the service a sidecar and a Component
  --with-vault      run an OpenBao dev server and sync, then rotate, a secret through spec.vault
  --all             all three
  --keep-cluster    do not delete the cluster on exit
  --skip-build      use images already built and tagged (apibase-service:TAG, apibase-operator:TAG)
  --cluster NAME    kind cluster name (default: $KIND_CLUSTER_NAME or apibase-e2e)
  --helm-arg ARG    pass ARG to `helm install` (repeatable), e.g. --helm-arg --values --helm-arg my.yaml
  -h, --help        this text
EOF
}

while (($#)); do
  case "$1" in
    --with-istio) WITH_ISTIO=1 ;;
    --with-dapr) WITH_DAPR=1 ;;
    --with-vault) WITH_VAULT=1 ;;
    --all) WITH_ISTIO=1 WITH_DAPR=1 WITH_VAULT=1 ;;
    --keep-cluster) KEEP_CLUSTER=1 ;;
    --skip-build) SKIP_BUILD=1 ;;
    --cluster) CLUSTER_NAME=${2:?--cluster needs a name}; shift ;;
    --helm-arg) HELM_EXTRA+=("${2:?--helm-arg needs a value}"); shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# -- helpers ------------------------------------------------------------------------------------------------------
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
info() { printf '    %s\n' "$*"; }
die() { printf '\033[31mFAILED: %s\033[0m\n' "$*" >&2; exit 1; }

# wait_until SECONDS DESCRIPTION COMMAND...: retry COMMAND every 2 s until it succeeds.
wait_until() {
  local seconds=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out after ${seconds}s waiting for ${what}"
    sleep 2
  done
}

json_field() { # json_field EXPRESSION < json: print a Python expression over `d` (the parsed document)
  python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

# A helm installed by scripts/install-helm.sh (.cache/tools/bin) is found too.
export PATH="${ROOT}/.cache/tools/bin:${PATH}"
for tool in docker kind kubectl helm curl python3; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (needs: docker, kind, kubectl, helm, curl, python3)"
done
docker info >/dev/null 2>&1 || die "the Docker daemon is not reachable (docker info failed)"
[[ -e "$CHART" ]] || die "the operator chart is missing: $CHART"

WORKDIR=$(mktemp -d)
export KUBECONFIG="${WORKDIR}/kubeconfig"
export DOCKER_BUILDKIT=1
CREATED_CLUSTER=0
PORT_FORWARD_PID=""
APIBASE_NAME=$(awk '/^metadata:/ {m = 1; next} m && /^  name:/ {print $2; exit}' "$SAMPLE")
APIBASE_NAMESPACE=$(awk '/^metadata:/ {m = 1; next} m && /^  namespace:/ {print $2; exit}' "$SAMPLE")
APIBASE_NAMESPACE=${APIBASE_NAMESPACE:-default}
[[ -n "$APIBASE_NAME" ]] || die "no metadata.name in $SAMPLE"

ab() { kubectl -n "$APIBASE_NAMESPACE" "$@"; }
ab_field() { ab get apibase "$APIBASE_NAME" -o "jsonpath=$1"; }
condition() { ab_field "{.status.conditions[?(@.type==\"$1\")].status}"; }

stop_port_forward() {
  if [[ -n "$PORT_FORWARD_PID" ]]; then
    kill "$PORT_FORWARD_PID" 2>/dev/null || true
    wait "$PORT_FORWARD_PID" 2>/dev/null || true
    PORT_FORWARD_PID=""
  fi
}

diagnostics() {
  echo "---- diagnostics ----" >&2
  kubectl get apibases,deployments,pods,services,secrets -A -o wide >&2 || true
  ab get apibase "$APIBASE_NAME" -o yaml >&2 || true
  kubectl -n "$OPERATOR_NAMESPACE" logs -l "app.kubernetes.io/instance=${RELEASE}" --tail=200 >&2 || true
  kubectl get events -A --sort-by=.lastTimestamp 2>/dev/null | tail -n 40 >&2 || true
}

cleanup() {
  local status=$?
  trap - EXIT
  stop_port_forward
  if ((status != 0)) && [[ -f "$KUBECONFIG" ]]; then
    diagnostics
  fi
  if ((CREATED_CLUSTER && !KEEP_CLUSTER)); then
    step "Deleting kind cluster ${CLUSTER_NAME}"
    kind delete cluster --name "$CLUSTER_NAME" || true
  elif ((CREATED_CLUSTER)); then
    info "cluster kept: kind get kubeconfig --name ${CLUSTER_NAME} >kubeconfig"
    info "delete it with: kind delete cluster --name ${CLUSTER_NAME}"
  fi
  rm -rf "$WORKDIR"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_ready: Ready=True for the current generation (a plain `kubectl wait` may see the condition of the last one).
is_ready() {
  [[ "$(ab_field '{.metadata.generation}')" == "$(ab_field '{.status.observedGeneration}')" ]] &&
    [[ "$(condition Ready)" == "True" ]]
}
wait_ready() { wait_until "$TIMEOUT" "ApiBase ${APIBASE_NAME} Ready at its current generation" is_ready; }

# -- 1. cluster ---------------------------------------------------------------------------------------------------
step "kind cluster ${CLUSTER_NAME}"
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
  info "reusing the existing cluster (it will not be deleted)"
  kind get kubeconfig --name "$CLUSTER_NAME" >"$KUBECONFIG"
else
  CREATED_CLUSTER=1 # set first: a creation that fails half-way is cleaned up too
  kind create cluster --name "$CLUSTER_NAME" --kubeconfig "$KUBECONFIG" --wait 180s \
    ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"}
fi
kubectl cluster-info

# -- 2. images ----------------------------------------------------------------------------------------------------
if ((SKIP_BUILD)); then
  step "Using prebuilt images ${SERVICE_IMAGE} and ${OPERATOR_IMAGE}"
else
  step "Building the images (Dockerfile targets service and operator)"
  docker build --target service --tag "$SERVICE_IMAGE" "$ROOT"
  docker build --target operator --tag "$OPERATOR_IMAGE" "$ROOT"
fi
# The canary is the same build under another tag: the operator only needs a different image reference.
docker tag "$SERVICE_IMAGE" "$CANARY_IMAGE"
step "Loading the images into the cluster"
kind load docker-image --name "$CLUSTER_NAME" "$SERVICE_IMAGE" "$CANARY_IMAGE" "$OPERATOR_IMAGE"

# -- 3. optional platform pieces ----------------------------------------------------------------------------------
if ((WITH_ISTIO)); then
  step "Installing Istio (istio/base, istio/istiod)"
  helm repo add istio https://istio-release.storage.googleapis.com/charts --force-update >/dev/null
  helm upgrade --install istio-base istio/base --namespace istio-system --create-namespace --wait \
    ${ISTIO_VERSION:+--version "$ISTIO_VERSION"}
  helm upgrade --install istiod istio/istiod --namespace istio-system --wait --timeout "${TIMEOUT}s" \
    ${ISTIO_VERSION:+--version "$ISTIO_VERSION"}
fi

if ((WITH_DAPR)); then
  step "Installing Dapr (dapr/dapr)"
  helm repo add dapr https://dapr.github.io/helm-charts --force-update >/dev/null
  helm upgrade --install dapr dapr/dapr --namespace dapr-system --create-namespace --wait --timeout "${TIMEOUT}s" \
    ${DAPR_VERSION:+--version "$DAPR_VERSION"}
fi

bao() {
  kubectl -n "$VAULT_NAMESPACE" exec deploy/openbao -- \
    env BAO_ADDR=http://127.0.0.1:8200 BAO_TOKEN=root bao "$@"
}

if ((WITH_VAULT)); then
  step "Starting an OpenBao dev server (${OPENBAO_IMAGE}; in-memory, root token 'root': tests only)"
  kubectl create namespace "$VAULT_NAMESPACE" --dry-run=client -o yaml | kubectl apply -f -
  kubectl -n "$VAULT_NAMESPACE" apply -f - <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: openbao
  labels: {app: openbao}
spec:
  replicas: 1
  selector:
    matchLabels: {app: openbao}
  template:
    metadata:
      labels: {app: openbao}
    spec:
      containers:
        - name: openbao
          image: ${OPENBAO_IMAGE}
          command: [bao, server, -dev, -dev-root-token-id=root, -dev-listen-address=0.0.0.0:8200]
          ports: [{containerPort: 8200, name: http}]
          readinessProbe:
            httpGet: {path: /v1/sys/health, port: 8200}
            periodSeconds: 2
---
apiVersion: v1
kind: Service
metadata:
  name: openbao
spec:
  selector: {app: openbao}
  ports: [{name: http, port: 8200, targetPort: 8200}]
EOF
  kubectl -n "$VAULT_NAMESPACE" rollout status deploy/openbao --timeout "${TIMEOUT}s"
  bao kv put -mount=secret "e2e/${APIBASE_NAME}" greeting=v1 >/dev/null
fi

# -- 4. the operator ----------------------------------------------------------------------------------------------
step "helm install ${RELEASE} ${CHART#"$ROOT"/} (namespace ${OPERATOR_NAMESPACE})"
# The image just loaded; a fast resync (canary steps and Vault refreshes are checked on the resync timer); the
# Vault policy: only the dev server, only secret/e2e (APIBASE_OPERATOR_VAULT_ADDRESSES / _MOUNTS).
helm upgrade --install "$RELEASE" "$CHART" --namespace "$OPERATOR_NAMESPACE" --create-namespace \
  --set image.repository="${OPERATOR_IMAGE%:*}" --set-string image.tag="${TAG}" --set image.pullPolicy=IfNotPresent \
  --set operator.resyncSeconds=5 \
  --set "vault.allowedAddresses={${VAULT_ADDRESS}}" --set "vault.allowedMounts={secret/e2e}" \
  ${HELM_EXTRA[@]+"${HELM_EXTRA[@]}"}
if ! kubectl get crd apibases.apibase.dev >/dev/null 2>&1; then
  info "the release installed no CRD (crds.install=false?): applying ${CRD#"$ROOT"/}"
  kubectl apply -f "$CRD"
fi
kubectl wait --for=condition=Established crd/apibases.apibase.dev --timeout "${TIMEOUT}s"
OPERATOR_DEPLOYMENT=$(kubectl -n "$OPERATOR_NAMESPACE" get deployments -o name \
  -l "app.kubernetes.io/instance=${RELEASE}" | head -n 1)
[[ -n "$OPERATOR_DEPLOYMENT" ]] || die "no Deployment labelled app.kubernetes.io/instance=${RELEASE}"
kubectl -n "$OPERATOR_NAMESPACE" rollout status "$OPERATOR_DEPLOYMENT" --timeout "${TIMEOUT}s"

# -- 5. an ApiBase --------------------------------------------------------------------------------------------------
step "Applying ${SAMPLE#"$ROOT"/} with image ${SERVICE_IMAGE}"
sed -E "s#^([[:space:]]*image:).*#\\1 ${SERVICE_IMAGE}#" "$SAMPLE" | kubectl apply -f -
kubectl -n "$APIBASE_NAMESPACE" wait --for=condition=Ready "apibase/${APIBASE_NAME}" --timeout "${TIMEOUT}s"
ab get apibase "$APIBASE_NAME"
for kind in deployment service serviceaccount poddisruptionbudget; do
  ab get "$kind" "$APIBASE_NAME" -o name
done

# -- 6. the service over a port-forward -----------------------------------------------------------------------------
step "Port-forward svc/${APIBASE_NAME}: /health/ready and a CRUD round trip on /api/v1/products"
# kubectl itself in the background (not through a function), so $! is the process to stop.
kubectl -n "$APIBASE_NAMESPACE" port-forward "svc/${APIBASE_NAME}" "${LOCAL_PORT}:80" \
  >"${WORKDIR}/port-forward.log" 2>&1 &
PORT_FORWARD_PID=$!
BASE="http://127.0.0.1:${LOCAL_PORT}"
wait_until 60 "the port-forward" curl -fsS "${BASE}/health/live"
curl -fsS "${BASE}/health/ready" | json_field 'd["status"]' | grep -qx ok || die "/health/ready is not ok"
info "/health/ready: ok"

SKU="E2E-$RANDOM"
curl -fsS -X POST "${BASE}/api/v1/products" -H 'content-type: application/json' \
  -d "{\"sku\": \"${SKU}\", \"name\": \"Gear\", \"price\": \"9.99\", \"currency\": \"EUR\", \"stock\": 5}" \
  -o "${WORKDIR}/created.json"
PRODUCT_ID=$(json_field 'd["data"]["id"]' <"${WORKDIR}/created.json")
info "created ${SKU} as ${PRODUCT_ID}"
curl -fsS -D "${WORKDIR}/headers" "${BASE}/api/v1/products/${PRODUCT_ID}" -o "${WORKDIR}/fetched.json"
[[ "$(json_field 'd["data"]["sku"]' <"${WORKDIR}/fetched.json")" == "$SKU" ]] || die "GET returned another product"
ETAG=$(awk 'tolower($1) == "etag:" {sub(/\r$/, "", $2); print $2}' "${WORKDIR}/headers")
curl -fsS -X PATCH "${BASE}/api/v1/products/${PRODUCT_ID}" -H 'content-type: application/json' \
  -H "If-Match: ${ETAG}" -d '{"price": "12.50"}' -o "${WORKDIR}/patched.json"
[[ "$(json_field 'd["data"]["price"]' <"${WORKDIR}/patched.json")" == "12.50" ]] || die "PATCH did not change the price"
[[ "$(curl -fsS "${BASE}/api/v1/products?sku=${SKU}" | json_field 'd["total"]')" == 1 ]] || die "the list misses ${SKU}"
[[ "$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE "${BASE}/api/v1/products/${PRODUCT_ID}")" == 204 ]] ||
  die "DELETE did not answer 204"
[[ "$(curl -sS -o /dev/null -w '%{http_code}' "${BASE}/api/v1/products/${PRODUCT_ID}")" == 404 ]] ||
  die "the deleted product is still there"
info "POST 201, GET 200, PATCH (If-Match) 200, list by sku, DELETE 204, GET 404"
stop_port_forward

# -- 7. Istio and Dapr ----------------------------------------------------------------------------------------------
pod_has_container() { # pod_has_container NAME: every pod of the stable track runs a container NAME
  local names
  names=$(ab get pods -l "app.kubernetes.io/instance=${APIBASE_NAME}" \
    -o jsonpath='{range .items[*]}{.spec.containers[*].name}{" "}{.spec.initContainers[*].name}{"\n"}{end}')
  [[ -n "$names" ]] && ! grep -qv -- "$1" <<<"$names"
}

if ((WITH_ISTIO || WITH_DAPR)); then
  FEATURES=()
  SPEC=()
  if ((WITH_ISTIO)); then
    FEATURES+=(Istio)
    # PERMISSIVE: the port-forward and kubelet reach the pods without a mesh certificate.
    SPEC+=('"istio": {"enabled": true, "mtlsMode": "PERMISSIVE"}')
  fi
  if ((WITH_DAPR)); then
    FEATURES+=(Dapr)
    SPEC+=('"dapr": {"enabled": true, "components": [{"name": "e2e-pubsub", "type": "pubsub.in-memory"}]}')
  fi
  step "Enabling ${FEATURES[*]} on ${APIBASE_NAME}"
  ab patch apibase "$APIBASE_NAME" --type merge -p "{\"spec\": {$(IFS=,; echo "${SPEC[*]}")}}"
  wait_ready
  ab rollout status "deployment/${APIBASE_NAME}" --timeout "${TIMEOUT}s"
  if ((WITH_ISTIO)); then
    for kind in virtualservices.networking.istio.io destinationrules.networking.istio.io \
      peerauthentications.security.istio.io authorizationpolicies.security.istio.io; do
      ab get "$kind" "$APIBASE_NAME" -o name
    done
    wait_until "$TIMEOUT" "the istio-proxy sidecar" pod_has_container istio-proxy
    info "mesh objects present, pods have istio-proxy"
  fi
  if ((WITH_DAPR)); then
    ab get components.dapr.io e2e-pubsub -o name
    wait_until "$TIMEOUT" "the daprd sidecar" pod_has_container daprd
    info "Dapr Component present, pods have daprd"
  fi
fi

# -- 7b. events through daprd ---------------------------------------------------------------------------------------
sales_counted() { # sales_counted PRODUCT_ID: the catalog counted 2 units ordered
  [[ "$(curl -fsS "${BASE}/api/v2/products/$1/sales" | json_field 'd["data"]["units_ordered"]')" == 2 ]]
}

if ((WITH_DAPR)); then
  step "Dapr: an order placed -> outbox -> daprd (e2e-pubsub) -> the subscription's route -> the catalog's counter"
  ENV_JSON=$(ab get deployment "$APIBASE_NAME" -o jsonpath='{.spec.template.spec.containers[0].env}')
  for pair in APIBASE_EVENTS__PUBLISHER=dapr APIBASE_DAPR__PUBSUB=e2e-pubsub; do
    python3 -c 'import json, sys; env = {e["name"]: e.get("value") for e in json.loads(sys.argv[1])}; \
name, value = sys.argv[2].split("="); sys.exit(env.get(name) != value)' "$ENV_JSON" "$pair" ||
      die "the operator did not set ${pair} on the service"
  done
  kubectl -n "$APIBASE_NAMESPACE" port-forward "svc/${APIBASE_NAME}" "${LOCAL_PORT}:80" \
    >"${WORKDIR}/port-forward.log" 2>&1 &
  PORT_FORWARD_PID=$!
  wait_until 60 "the port-forward" curl -fsS "${BASE}/health/live"
  curl -fsS "${BASE}/dapr/subscribe" | json_field '{e["pubsubname"] for e in d} == {"e2e-pubsub"}' | grep -qx True ||
    die "GET /dapr/subscribe does not announce the e2e-pubsub component"
  SKU="E2E-DAPR-$RANDOM"
  curl -fsS -X POST "${BASE}/api/v1/products" -H 'content-type: application/json' \
    -d "{\"sku\": \"${SKU}\", \"name\": \"Gear\", \"price\": \"9.99\", \"currency\": \"EUR\", \"stock\": 5}" \
    -o "${WORKDIR}/created.json"
  PRODUCT_ID=$(json_field 'd["data"]["id"]' <"${WORKDIR}/created.json")
  curl -fsS -X POST "${BASE}/api/v1/orders" -H 'content-type: application/json' \
    -d "{\"customer_email\": \"ada@example.com\", \"lines\": [{\"product_id\": \"${PRODUCT_ID}\", \"quantity\": 2}]}" \
    -o /dev/null
  wait_until "$TIMEOUT" "the catalog to count the order delivered by daprd" sales_counted "$PRODUCT_ID"
  info "order placed; daprd delivered OrderPlaced; the catalog counts 2 units"
  stop_port_forward
fi

# -- 8. canary ------------------------------------------------------------------------------------------------------
step "Canary ${CANARY_IMAGE}: steps 25, 50, 100 every 10 s, auto-promote"
ab patch apibase "$APIBASE_NAME" --type merge -p \
  "{\"spec\": {\"canary\": {\"image\": \"${CANARY_IMAGE}\", \"steps\": [25, 50, 100], \"stepIntervalSeconds\": 10}}}"
SEEN=""
deadline=$((SECONDS + TIMEOUT))
while :; do
  weight=$(ab_field '{.status.canaryWeight}')
  weight=${weight:-0}
  stable=$(ab_field '{.status.stableImage}')
  if [[ " $SEEN " != *" $weight "* ]]; then
    SEEN="${SEEN:+$SEEN }${weight}"
    info "canaryWeight ${weight}% (stable: ${stable:-?})"
    if ((WITH_ISTIO && weight > 0)); then
      routed=$(ab get virtualservice "$APIBASE_NAME" \
        -o jsonpath='{.spec.http[0].route[?(@.destination.subset=="canary")].weight}')
      info "VirtualService routes ${routed:-0}% to the canary subset"
    fi
  fi
  [[ "$stable" == "$CANARY_IMAGE" && "$weight" == 0 ]] && break
  ((SECONDS < deadline)) || die "the canary was not promoted in ${TIMEOUT}s (weights seen: ${SEEN})"
  sleep 2
done
nonzero=$(tr ' ' '\n' <<<"$SEEN" | grep -cv '^0$' || true)
((nonzero >= 1)) || die "no canary weight above 0 was observed (seen: ${SEEN})"
info "weights observed: ${SEEN}; promoted: the stable Deployment runs ${CANARY_IMAGE}"
wait_ready
STABLE_RUNS=$(ab get deployment "$APIBASE_NAME" -o jsonpath='{.spec.template.spec.containers[0].image}')
[[ "$STABLE_RUNS" == "$CANARY_IMAGE" ]] || die "the stable Deployment runs ${STABLE_RUNS}, not the promoted image"
canary_removed() { ! ab get deployment "${APIBASE_NAME}-canary" >/dev/null 2>&1; }
wait_until 60 "the canary Deployment to be removed" canary_removed

# -- 9. Vault secret rotation ---------------------------------------------------------------------------------------
if ((WITH_VAULT)); then
  step "Vault: sync secret/e2e/${APIBASE_NAME}, then rotate it"
  kubectl -n "$OPERATOR_NAMESPACE" create secret generic "$VAULT_TOKEN_SECRET" --from-literal=token=root \
    --dry-run=client -o yaml | kubectl apply -f -
  ab patch apibase "$APIBASE_NAME" --type merge -p "$(
    cat <<EOF
{"spec": {"vault": {
  "address": "${VAULT_ADDRESS}",
  "auth": {"tokenSecret": {"name": "${VAULT_TOKEN_SECRET}", "key": "token"}},
  "paths": [{"path": "e2e/${APIBASE_NAME}", "keys": {"greeting": "E2E_GREETING"}}],
  "refreshIntervalSeconds": 10,
  "restartOnRotation": true
}}}
EOF
  )"
  secret_value() { ab get secret "${APIBASE_NAME}-vault" -o jsonpath='{.data.E2E_GREETING}' | base64 -d; }
  secret_is() { [[ "$(secret_value)" == "$1" ]]; }
  ab wait --for=condition=SecretsSynced "apibase/${APIBASE_NAME}" --timeout "${TIMEOUT}s"
  wait_until "$TIMEOUT" "Secret ${APIBASE_NAME}-vault to hold v1" secret_is v1
  wait_ready
  HASH_BEFORE=$(ab_field '{.status.secretHash}')
  [[ -n "$HASH_BEFORE" ]] || die "status.secretHash is empty after a sync"
  info "synced: E2E_GREETING=v1, secretHash ${HASH_BEFORE}"

  bao kv put -mount=secret "e2e/${APIBASE_NAME}" greeting=v2 >/dev/null
  wait_until "$TIMEOUT" "Secret ${APIBASE_NAME}-vault to hold v2" secret_is v2
  hash_changed() {
    local hash
    hash=$(ab_field '{.status.secretHash}')
    [[ -n "$hash" && "$hash" != "$HASH_BEFORE" ]]
  }
  wait_until "$TIMEOUT" "status.secretHash to change" hash_changed
  HASH_AFTER=$(ab_field '{.status.secretHash}')
  template_hash() {
    [[ "$(ab get deployment "$APIBASE_NAME" \
      -o jsonpath='{.spec.template.metadata.annotations.apibase\.dev/secret-hash}')" == "$HASH_AFTER" ]]
  }
  wait_until "$TIMEOUT" "the pod template to carry the new hash (a rolling restart)" template_hash
  ab rollout status "deployment/${APIBASE_NAME}" --timeout "${TIMEOUT}s"
  info "rotated: E2E_GREETING=v2, secretHash ${HASH_BEFORE} -> ${HASH_AFTER}, pods restarted"
fi

# -- 10. deletion -----------------------------------------------------------------------------------------------------
step "Deleting ApiBase ${APIBASE_NAME}: every owned object must go"
ab delete apibase "$APIBASE_NAME" --wait --timeout "${TIMEOUT}s"
KINDS="deployments,services,serviceaccounts,secrets,poddisruptionbudgets,horizontalpodautoscalers"
((WITH_ISTIO)) && KINDS+=",virtualservices.networking.istio.io,destinationrules.networking.istio.io"
((WITH_ISTIO)) && KINDS+=",peerauthentications.security.istio.io,authorizationpolicies.security.istio.io"
((WITH_DAPR)) && KINDS+=",components.dapr.io"
nothing_left() {
  [[ -z "$(ab get "$KINDS" -l "app.kubernetes.io/instance=${APIBASE_NAME},${OWNED_LABELS}" -o name)" ]]
}
wait_until "$TIMEOUT" "the owned objects to be deleted" nothing_left
info "no ${KINDS//,/, } left with ${OWNED_LABELS}"

step "All end-to-end checks passed"
