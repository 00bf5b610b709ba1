# shellcheck shell=bash
# Sourced by the data-preparation scripts (prepare_*.sh): downloads that leave nothing half-written, and checks
# that fail with one line.

# die MESSAGE...: one line on stderr, exit 1.
die() {
  echo "error: $*" >&2
  exit 1
}

# need_packages PACKAGE...: installs the Debian packages that are missing (as root, apt-get update first).
need_packages() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [[ ${#missing[@]} -eq 0 ]] && return
  [[ $(id -u) -eq 0 ]] || die "missing Debian packages (install them as root): ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# fetch DEST URL...: downloads the first URL that answers into DEST through DEST.part, renamed only when complete.
# An existing DEST is kept (a rerun does not download again).
fetch() {
  local dest=$1
  shift
  [[ -s $dest ]] && return
  for url in "$@"; do
    echo "fetching $url"
    if curl --fail --location --retry 3 --silent --show-error -o "$dest.part" "$url"; then
      mv "$dest.part" "$dest"
      return
    fi
  done
  rm -f "$dest.part"
  die "could not download $(basename "$dest") (no internet? tried: $*)"
}

# expect_lines FILE COUNT: FILE has exactly COUNT lines.
expect_lines() {
  local lines
  lines=$(wc -l <"$1")
  [[ $lines -eq $2 ]] || die "$1 has $lines lines, expected $2: a damaged or different download"
}

# expect_symbols PREPROCESS_LOG COUNT: qn preprocess reported a dictionary of COUNT symbols.
expect_symbols() {
  grep -q "^dictionary: $2 symbols" "$1" || die "the dictionary is not $2 symbols ($(grep '^dictionary' "$1")): a different data set"
}
