#!/bin/sh
# The commands of the CI jobs in docs/ci.md, runnable against any registry:
#
#   IMGSLIM=bin/imgslim SRC=127.0.0.1:5000/app:1.0 DST=127.0.0.1:5000/app:1.0-slim \
#       sh testdata/ci-recipe.sh
#
# Credentials come from the docker config ($DOCKER_CONFIG/config.json), as
# `docker login` writes them. It leaves imgslim-report.json and
# imgslim.digest in the current directory and prints DST@DIGEST last.
# TestCIRecipe (cmd/imgslim, e2e) runs it against the test registry.
set -eu
IMGSLIM=${IMGSLIM:-imgslim}
: "${SRC:?set SRC to the image to slim}" "${DST:?set DST to where the slimmed image goes}"

# --- recipe: the lines below are the jobs' script, word for word ---
"$IMGSLIM" version
"$IMGSLIM" analyze --ci -q "docker://$SRC"
"$IMGSLIM" --fail-on root,secrets --min-saving 5 \
    --report imgslim-report.json --digest-file imgslim.digest \
    "docker://$SRC" "docker://$DST"
echo "slimmed: $DST@$(cat imgslim.digest)"
# --- end of recipe ---
