#!/usr/bin/env bash
# Prints the path of a working Python of the wanted minor version (3.10 for Rasa,
# "3.11+" for the API), looking on PATH first and then in pyenv's versions.
set -u
want=${1:?usage: find-python.sh 3.10|3.11+}
if [ "$want" = "3.10" ]; then names="python3.10"; check='import sys; assert sys.version_info[:2] == (3, 10)'
else names="python3.13 python3.12 python3.11 python3"; check='import sys; assert sys.version_info >= (3, 11)'; fi
candidates=""
for n in $names; do candidates="$candidates $(command -v "$n" 2>/dev/null)"; done
root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
for n in $names; do candidates="$candidates $(ls -d "$root"/versions/*/bin/"$n" 2>/dev/null | sort -rV)"; done
for c in $candidates; do
  if [ -x "$c" ] && "$c" -c "$check" 2>/dev/null; then
    "$c" -c 'import sys; print(sys.executable)'; exit 0
  fi
done
if [ "$want" = "3.10" ]; then
  echo "Rasa 3.6 needs Python 3.10: install it (e.g. 'pyenv install 3.10.13' or 'apt-get install python3.10') so that python3.10 is on PATH, then run make again." >&2
else
  echo "The ticketing API needs Python 3.11 or newer: install it (e.g. 'pyenv install 3.11') so that python3.11 is on PATH, then run make again." >&2
fi
exit 1
