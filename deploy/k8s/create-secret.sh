#!/usr/bin/env bash
# Creates (or updates) the Secret travelchat-secrets from variables of the environment it
# runs in (a CI/CD job's protected variables, a secret store's export...): nothing is
# written to disk and no value appears on a command line (`ps`): the values reach kubectl
# through an anonymous pipe as an env file.
#
#   deploy/k8s/create-secret.sh            # namespace travelchat, kubectl's current context
#   NAMESPACE=other deploy/k8s/create-secret.sh
#
# The keys are the ones the manifests name in secretKeyRef (tests/test_deploy_manifests.py
# keeps this list and the manifests in step). Every one must be set and must not be a
# development value ("dev-..."): the services refuse those outside APP_ENV=development.
# REDIS_PASSWORD may be empty when your Redis has no password.
set -euo pipefail

NAMESPACE=${NAMESPACE:-travelchat}
KEYS=(
  RASA_JWT_SECRET
  ACTION_SERVER_TOKEN
  API_SERVICE_TOKEN
  AGENT_INITIAL_PASSWORD
  SUPERVISOR_INITIAL_PASSWORD
  VERIFY_GRANT_SECRET
  CHAT_SESSION_SECRET
  WECHAT_APP_SECRET
  WECHAT_TOKEN
  WECHAT_AES_KEY
  TRACKER_DB_PASSWORD
  REDIS_PASSWORD
  CHANNEL_REDIS_URL
  DATABASE_URL
  TRACKER_STORE_URL
)
MAY_BE_EMPTY=" REDIS_PASSWORD "

missing=()
for key in "${KEYS[@]}"; do
  value=${!key-}
  if [[ -z $value && $MAY_BE_EMPTY != *" $key "* ]] || [[ $value == dev-* ]]; then
    missing+=("$key")
  fi
done
if ((${#missing[@]})); then
  echo "create-secret.sh: set real values for: ${missing[*]}" >&2
  exit 1
fi

env_file() {
  local key
  for key in "${KEYS[@]}"; do
    printf '%s=%s\n' "$key" "${!key-}"
  done
}

kubectl create secret generic travelchat-secrets --namespace "$NAMESPACE" \
  --from-env-file=<(env_file) --dry-run=client --output=yaml |
  kubectl apply --namespace "$NAMESPACE" -f -
