# Sourced by make: exports dev.env's defaults for every variable the environment
# does not already set (production's environment always wins). With APP_ENV set to
# anything but "development", dev.env's "dev-" secrets are not exported at all: a
# secret production forgot stays empty and the service refuses to start (servicekit.py).
_app_env=${APP_ENV-}
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in ''|'#'*) continue ;; esac
  key=${line%%=*}
  value=${line#*=}
  if [ -n "$_app_env" ] && [ "$_app_env" != development ]; then
    case "$value" in dev-*) continue ;; esac
  fi
  [ -z "${!key+x}" ] && export "$key=$value"
done < "$(dirname "${BASH_SOURCE[0]}")/../dev.env"
unset _app_env
