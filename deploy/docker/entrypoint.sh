#!/bin/sh
# The image's entrypoint, run by tini (PID 1, which forwards SIGTERM and reaps zombies):
# refuses to start without the servers and keys a container needs, then `exec`s the command,
# so the process tini signals is the command itself (traaaction), not this shell.
#
# Containers never use the embedded default (a PostgreSQL and a Redis started from wheels in
# ./.traaaction, for one machine): its data would live and die with the container's file
# system, and the image does not even ship those wheels. `traaaction keys generate`, --help
# and --version need nothing and are let through.
set -eu

needs_servers=yes
case "${1:-}:${2:-}:${3:-}" in
  traaaction:keys:generate | traaaction::) needs_servers=no ;;
esac
for arg in "$@"; do
  case "$arg" in
    --help | -h | --version) needs_servers=no ;;
  esac
done

if [ "$needs_servers" = yes ]; then
  missing=""
  for name in DATABASE_URL REDIS_URL TRAAACTION_KEYS; do
    eval "value=\${$name:-}"
    if [ -z "$value" ]; then
      missing="$missing $name"
    fi
  done
  if [ -n "$missing" ]; then
    echo "traaaction: error:$missing: required in a container (the embedded default is for" \
      "one machine only; see docs/operations.md)" >&2
    exit 78  # EX_CONFIG
  fi
fi

exec "$@"
