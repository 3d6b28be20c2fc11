#!/usr/bin/env bash
# Builds the real systems used by `npm run test:real` (Kubernetes control plane, etcd, kwok, helm and the
# Flux controllers, Argo CD) from their Go modules, once per version, into a cache outside the checkout:
#   ${KEPTN_GITOPS_REAL_CACHE:-$HOME/.cache/keptn-gitops-real}/<component>-<version>/
# The versions are pinned in one place: the go.mod of each wrapper module under tools/.
# A component already in the cache is not built again. Writes tools/built.json (binary paths, versions,
# the module directories holding CRDs and kwok stages) for the test tier to read.
set -euo pipefail

tools="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${KEPTN_GITOPS_REAL_CACHE:-$HOME/.cache/keptn-gitops-real}"
mkdir -p "$cache"
export CGO_ENABLED=0 GOFLAGS=-trimpath GOTOOLCHAIN=local

# module_version DIR MODULE: the version of MODULE that the wrapper module in DIR builds.
module_version() { (cd "$tools/$1" && go list -m -f '{{.Version}}' "$2"); }
module_dir() { (cd "$tools/$1" && go list -m -f '{{.Dir}}' "$2"); }

# build NAME DIR MODULE LDFLAGS PACKAGE...: builds PACKAGEs of the wrapper module DIR into the cache.
build() {
  local name=$1 dir=$2 module=$3 ldflags=$4
  shift 4
  local version target lock
  version="$(module_version "$dir" "$module")"
  target="$cache/$name-$version"
  # One build per component at a time, also across checkouts sharing the cache; a waiter then finds it built.
  exec {lock}>"$target.lock"
  flock "$lock"
  if [ -f "$target/.complete" ]; then
    echo "real tier: $name $version cached in $target"
  else
    echo "real tier: building $name $version (first time only; a cold build takes minutes) ..."
    rm -rf "$target.partial"
    mkdir -p "$target.partial"
    # Wall time and the CPU time of the build (on a busy machine the CPU time says more).
    local TIMEFORMAT="real tier: built $name $version in %0R s (CPU %0U s user, %0S s system)"
    local started=$SECONDS
    (while sleep 60; do echo "real tier: ... still building $name ($((SECONDS - started)) s)"; done) &
    local ticker=$!
    trap 'kill $ticker 2>/dev/null' EXIT
    time (cd "$tools/$dir" && go mod download && go build -ldflags "-s -w $ldflags" -o "$target.partial/" "$@")
    kill $ticker
    trap - EXIT
    touch "$target.partial/.complete"
    rm -rf "$target"
    mv "$target.partial" "$target"
  fi
  flock --unlock "$lock"
  exec {lock}>&-
  eval "dir_$(echo "$name" | tr - _)=\"$target\""
  eval "version_$(echo "$name" | tr - _)=\"$version\""
}

total_started=$SECONDS

k8s_version="$(module_version kubernetes k8s.io/kubernetes)"
k8s_minor="$(echo "$k8s_version" | cut -d. -f2)"
kv=k8s.io/component-base/version
k8s_ldflags="-X $kv.gitVersion=$k8s_version -X $kv.gitMajor=1 -X $kv.gitMinor=$k8s_minor -X $kv.gitTreeState=clean"
build kubernetes kubernetes k8s.io/kubernetes "$k8s_ldflags" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler
# kubectl applies manifests and mints tokens for the test tier, at the same version as the server.
build kubectl kubernetes k8s.io/kubernetes "$k8s_ldflags" k8s.io/kubernetes/cmd/kubectl
build etcd etcd go.etcd.io/etcd/server/v3 "" .
build kwok kwok sigs.k8s.io/kwok "" sigs.k8s.io/kwok/cmd/kwok
helm_version="$(module_version helm helm.sh/helm/v4)"
build helm helm helm.sh/helm/v4 "-X helm.sh/helm/v4/internal/version.version=$helm_version" helm.sh/helm/v4/cmd/helm
for controller in source-controller kustomize-controller helm-controller notification-controller; do
  build "flux-$controller" "flux-$controller" "github.com/fluxcd/$controller" "" "github.com/fluxcd/$controller"
done
# Argo CD (the `argocd` part of the tier) is built unless KEPTN_GITOPS_REAL_ARGOCD=0. It reports gitTag
# as its version only with a gitCommit and a clean tree (common/version.go); a module has no commit
# id, so the tag stands in for it.
argocd_json=""
if [ "${KEPTN_GITOPS_REAL_ARGOCD:-1}" != 0 ]; then
  argocd_version="$(module_version argocd github.com/argoproj/argo-cd/v3)"
  ac=github.com/argoproj/argo-cd/v3/common
  build argocd argocd github.com/argoproj/argo-cd/v3 \
    "-X $ac.version=${argocd_version#v} -X $ac.gitTag=$argocd_version -X $ac.gitCommit=$argocd_version -X $ac.gitTreeState=clean" .
  argocd_json=",
  \"argocd\": { \"version\": \"$version_argocd\", \"dir\": \"$dir_argocd\", \"manifests\": \"$(module_dir argocd github.com/argoproj/argo-cd/v3)/manifests\" }"
fi

crds() { echo "$(module_dir "flux-$1" "github.com/fluxcd/$1")/config/crd/bases"; }
cat > "$tools/built.json" <<EOF
{
  "kubernetes": { "version": "$version_kubernetes", "dir": "$dir_kubernetes" },
  "kubectl": { "version": "$version_kubectl", "dir": "$dir_kubectl" },
  "etcd": { "version": "$version_etcd", "dir": "$dir_etcd" },
  "kwok": { "version": "$version_kwok", "dir": "$dir_kwok", "stages": "$(module_dir kwok sigs.k8s.io/kwok)/kustomize/stage" },
  "helm": { "version": "$version_helm", "dir": "$dir_helm" },
  "flux": {
    "source-controller": { "version": "$version_flux_source_controller", "dir": "$dir_flux_source_controller", "crds": "$(crds source-controller)" },
    "kustomize-controller": { "version": "$version_flux_kustomize_controller", "dir": "$dir_flux_kustomize_controller", "crds": "$(crds kustomize-controller)" },
    "helm-controller": { "version": "$version_flux_helm_controller", "dir": "$dir_flux_helm_controller", "crds": "$(crds helm-controller)" },
    "notification-controller": { "version": "$version_flux_notification_controller", "dir": "$dir_flux_notification_controller", "crds": "$(crds notification-controller)" }
  }$argocd_json
}
EOF
echo "real tier: binaries ready in $((SECONDS - total_started)) s ($tools/built.json)"
