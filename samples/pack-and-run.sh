#!/usr/bin/env bash
# Packs the library packages the samples use (version 0.0.0-local) and builds and runs both samples against them,
# the way an application would consume PinnerSage. Works in WORK (default: a new temporary folder) on copies, so
# the repository's build outputs and the machine's NuGet cache are left as they were:
#   - src/ is copied and packed there (the packs never touch src/*/bin or obj);
#   - the samples restore into their own package folder, with the machine's cache as a read-only fallback, so a
#     re-packed 0.0.0-local is never served stale from the cache and third-party packages need no network.
# Usage: samples/pack-and-run.sh [WORK]
set -euo pipefail
samples=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$samples")
work=${1:-$(mktemp -d)}
mkdir -p "$work"
version=0.0.0-local
cache=${NUGET_PACKAGES:-$HOME/.nuget/packages}

rm -rf "$work/repo" "$work/samples" "$work/nuget-packages"
mkdir -p "$work/repo"
tar -C "$repo" --exclude=bin --exclude=obj -cf - src Directory.Build.props Directory.Packages.props LICENSE | tar -C "$work/repo" -xf -
tar -C "$repo" --exclude=bin --exclude=obj --exclude=packages -cf - samples | tar -C "$work" -xf -

for project in PinnerSage.Core PinnerSage.Storage.Sqlite PinnerSage.Evaluation PinnerSage.ItemSage; do
  dotnet pack "$work/repo/src/$project/$project.csproj" -c Release -p:Version=$version -o "$work/samples/packages" -nologo -v:q
done

export NUGET_PACKAGES="$work/nuget-packages"
for sample in ProfilesInMemory ItemSageCatalogue; do
  echo "== $sample"
  dotnet run --project "$work/samples/$sample/$sample.csproj" -c Release -p:PinnerSageVersion=$version \
    -p:RestoreAdditionalProjectFallbackFolders="$cache"
done
