# Checks the shell tests share (tests/docker/docker_test.sh,
# tests/install/install_test.sh). Source it after defining
# `fail MESSAGE...` (print and exit 1); the checks call it.

# wait_invoke AETHER FUNCTION NAME LOG [AETHER_ARGS...]: `aether invoke
# FUNCTION --input '"NAME"'` answers "Hello, NAME!" within 60 s (the
# function becomes ready on an engine, or a replica takes over,
# meanwhile); its last error in LOG.
wait_invoke() {
  local aether=$1 function=$2 name=$3 log=$4 out="" deadline=$(($(date +%s) + 60))
  shift 4
  while [ "$(date +%s)" -lt "$deadline" ]; do
    out=$(timeout 20 "$aether" invoke "$function" --input "\"$name\"" "$@" 2> "$log") && break
    sleep 0.2
  done
  [ "$out" = "Hello, $name!" ] || fail "invoke $function: got '$out': $(cat "$log")"
}

# pipeline_accepts APPLY_LOG: the ingress URL that `aether workflow apply`
# of examples/pipeline printed in APPLY_LOG accepts a large order within
# 30 s (the workflow's instances start meanwhile). Prints the URL.
pipeline_accepts() {
  local log=$1 ingress verdict=""
  ingress=$(grep -o 'http://127\.0\.0\.1:[0-9]*/wf/pipeline/orders' "$log" | head -n1)
  [ -n "$ingress" ] || fail "no ingress URL in: $(cat "$log")"
  for _ in $(seq 1 150); do
    verdict=$(curl -s -m 5 -d 'amount=150&item=book' "$ingress" || true)
    [ "$verdict" = '{"verdict":"accept"}' ] && break
    sleep 0.2
  done
  [ "$verdict" = '{"verdict":"accept"}' ] || fail "pipeline ingress answered '$verdict'"
  echo "$ingress"
}
