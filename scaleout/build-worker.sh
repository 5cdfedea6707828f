#!/bin/sh
# Builds the scale-out worker: the pinnersage CLI as one self-contained Linux x64 executable (no .NET SDK or runtime
# needed on the workers). Usage: scaleout/build-worker.sh [OUTPUT_FOLDER]   (default: artifacts/worker)
set -eu
cd "$(dirname "$0")/.."
out=${1:-artifacts/worker}
dotnet publish src/PinnerSage.Cli -c Release -r linux-x64 --self-contained \
  -p:PublishSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true -p:DebugType=none -p:GenerateDocumentationFile=false \
  -o "$out"
echo "worker: $out/pinnersage"
