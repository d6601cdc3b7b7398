#!/bin/sh
# mkdeb NAME FIELD... builds /tmp/debs/NAME_ARCH.deb: a package holding one
# file, of architecture $ARCH (default all), whose control file has the
# extra FIELD lines, and whose triggers file has the ";"-separated
# directives of $TRIGGERS.
set -e
name=$1
shift
arch=${ARCH:-all}
d=/tmp/debs/$name-$arch
mkdir -p "$d/DEBIAN" "$d/usr/share/doc/$name"
{
	echo "Package: $name"
	echo "Version: 1.0"
	echo "Architecture: $arch"
	echo "Maintainer: imgslim tests <tests@imgslim.invalid>"
	for f in "$@"; do echo "$f"; done
	echo "Description: imgslim test package"
} >"$d/DEBIAN/control"
echo "$name" >"$d/usr/share/doc/$name/README.$arch"
if [ -n "$TRIGGERS" ]; then
	echo "$TRIGGERS" | tr ';' '\n' >"$d/DEBIAN/triggers"
fi
dpkg-deb --build "$d" "/tmp/debs/${name}_$arch.deb" >/dev/null
