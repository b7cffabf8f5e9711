# Sourced by make: exports dev.env's defaults for every variable the environment
# does not already set (production's environment always wins).
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in ''|'#'*) continue ;; esac
  key=${line%%=*}
  [ -z "${!key+x}" ] && export "$key=${line#*=}"
done < "$(dirname "${BASH_SOURCE[0]}")/../dev.env"
