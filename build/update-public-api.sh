#!/usr/bin/env bash
# Regenerates the public API baselines of the projects under src/ (issue 9): PublicAPI.Shipped.txt and
# PublicAPI.Unshipped.txt beside each project, which Microsoft.CodeAnalysis.PublicApiAnalyzers checks at build
# time (RS0016: public API not listed; RS0017: listed API gone).
#
#   build/update-public-api.sh [src/PROJECT ...] [--ship]
#
# Without --ship, PublicAPI.Shipped.txt stays as it is and PublicAPI.Unshipped.txt becomes the difference: what
# is new, and "*REMOVED*" before each shipped line that is gone (the analyzers' format). With --ship (at a
# release) the whole current API becomes PublicAPI.Shipped.txt and PublicAPI.Unshipped.txt is emptied.
# The current API is listed by the analyzers' own code fix for RS0016 (dotnet format analyzers), run on empty
# lists; the script then builds each project to check that its lists are complete. Without a project it does
# every project, bottom layer first (the order of build/Layers.props), so that each one's check builds on
# complete lists below it. About two minutes a project.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
ship=false
projects=()
for arg in "$@"; do
    case "$arg" in
        --ship) ship=true ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        -*) echo "unknown option $arg (see --help)" >&2; exit 2 ;;
        *) projects+=("$arg") ;;
    esac
done
if [ ${#projects[@]} -eq 0 ]; then
    while read -r name; do
        projects+=("$root/src/$name")
    done < <(sed -n 's/.*<MapwrightLayer Include="\([^"]*\)".*/\1/p' "$root/build/Layers.props")
fi

header='#nullable enable'
entries() { grep -v -e '^#nullable' -e '^[[:space:]]*$' "$1" | LC_ALL=C sort -u || true; }

for dir in "${projects[@]}"; do
    dir=$(cd "$dir" && pwd)
    name=$(basename "$dir")
    csproj="$dir/$name.csproj"
    [ -f "$csproj" ] || { echo "no $csproj" >&2; exit 2; }
    shipped="$dir/PublicAPI.Shipped.txt"
    unshipped="$dir/PublicAPI.Unshipped.txt"
    old_shipped=$(mktemp)
    current=$(mktemp)
    [ -f "$shipped" ] && entries "$shipped" > "$old_shipped"

    echo "$name: listing the public API" >&2
    echo "$header" > "$shipped"
    echo "$header" > "$unshipped"
    # The fix writes every missing entry into PublicAPI.Unshipped.txt; it exits non-zero when it changed files.
    dotnet format analyzers "$csproj" --diagnostics RS0016 --severity warn >&2 || true
    entries "$unshipped" > "$current"

    if $ship; then
        { echo "$header"; cat "$current"; } > "$shipped"
        echo "$header" > "$unshipped"
    else
        { echo "$header"; cat "$old_shipped"; } > "$shipped"
        {
            echo "$header"
            LC_ALL=C comm -13 "$old_shipped" "$current"
            LC_ALL=C comm -23 "$old_shipped" "$current" | sed 's/^/*REMOVED*/'
        } > "$unshipped"
    fi
    rm -f "$old_shipped" "$current"

    echo "$name: checking" >&2
    if dotnet build "$csproj" -nologo -v:q 2>&1 | grep -E "error RS00(16|17).*\[$csproj\]" >&2; then
        echo "$name: the public API lists are still incomplete" >&2
        exit 1
    fi
    echo "$name: $(grep -vc -e '^#' "$shipped" || true) shipped, $(grep -vc -e '^#' "$unshipped" || true) unshipped" >&2
done
