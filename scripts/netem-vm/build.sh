#!/usr/bin/env bash
# Build (once) what the netem VM boots: the stock Debian kernel with its modules, unpacked
# into the build dir without installing it on the host, and an initramfs of busybox, the
# modules it loads and its init. Later runs reuse them: the kernel is fetched only when it is
# missing, the initramfs is repacked only when its inputs change. Prints nothing on success;
# on failure prints one line naming the step. Needs: apt-get, dpkg, kmod (depmod, modprobe),
# busybox-static, gzip.
# Usage: build.sh [BUILD_DIR]   (default: build/netem-vm in the repository)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${1:-$HERE/../../build/netem-vm}
BUSYBOX=/bin/busybox
# Loaded by the initramfs in dependency order: what boot needs (virtio, 9p, overlay), then
# what traffic shaping tests need. Others autoload later from the bound module tree.
MODULES=(
    virtio_pci 9pnet_virtio 9p overlay
    veth ifb sch_netem sch_htb sch_tbf sch_ingress cls_u32 act_mirred
)

fail() { echo "netem-vm assets: $1 failed: $2" >&2; exit 1; }

# last_line COMMAND...: run it; on failure fail with its last output line.
last_line() {
    local step=$1 log
    shift
    log=$("$@" 2>&1) || fail "$step" "'$*': $(tail -n 1 <<<"$log")"
}

kernel_package() {
    apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 == "Depends:" {print $2; exit}'
}

fetch_kernel() {
    [[ -d $OUT/kernel ]] && return
    local package deb
    package=$(kernel_package)
    if [[ -z $package ]]; then
        last_line "download (apt-get update)" apt-get update
        package=$(kernel_package)
        [[ -n $package ]] || fail download "apt-cache knows no linux-image-amd64"
    fi
    rm -rf "$OUT/dl" "$OUT/kernel.tmp"
    mkdir -p "$OUT/dl"
    (cd "$OUT/dl" && last_line download apt-get download "$package")
    deb=$(echo "$OUT"/dl/*.deb)
    last_line extract dpkg -x "$deb" "$OUT/kernel.tmp"
    local version
    version=$(basename "$(echo "$OUT"/kernel.tmp/lib/modules/*)")
    [[ -f $OUT/kernel.tmp/boot/vmlinuz-$version ]] || fail extract "no vmlinuz-$version in $deb"
    last_line "extract (depmod)" depmod -b "$OUT/kernel.tmp" "$version"
    mv "$OUT/kernel.tmp" "$OUT/kernel"
    rm -rf "$OUT/dl"
}

build_initramfs() {
    local version stamp stage
    version=$(basename "$(echo "$OUT"/kernel/lib/modules/*)")
    [[ -x $BUSYBOX ]] || fail initramfs "$BUSYBOX is missing (Debian package busybox-static)"
    stamp=$( (echo "$version ${MODULES[*]}"; cat "$HERE/init" "$HERE/run-job" "$BUSYBOX") \
        | sha256sum | cut -d' ' -f1)
    if [[ -f $OUT/initramfs.cpio.gz && "$(cat "$OUT/initramfs.stamp" 2>/dev/null)" == "$stamp" ]]; then
        return
    fi
    stage=$OUT/initramfs.tmp
    rm -rf "$stage"
    mkdir -p "$stage"/{bin,modules,proc}
    cp "$BUSYBOX" "$stage/bin/busybox"
    install -m 0755 "$HERE/init" "$stage/init"
    install -m 0755 "$HERE/run-job" "$stage/run-job"
    local deps
    deps=$(modprobe -C /dev/null -d "$OUT/kernel" -S "$version" --show-depends -a "${MODULES[@]}" \
        2>&1) || fail initramfs "module closure: $(tail -n 1 <<<"$deps")"
    # "insmod PATH" lines in load order, dependencies repeated: keep each module's first one.
    awk '$1 == "insmod" && !seen[$2]++ {print $2}' <<<"$deps" | while read -r path; do
        cp "$path" "$stage/modules/"
        basename "$path" >>"$stage/modules/load.list"
    done
    (cd "$stage" && find . | busybox cpio -o -H newc --quiet | gzip -1 >"$OUT/initramfs.tmp.gz") \
        || fail initramfs "cpio of $stage"
    mv "$OUT/initramfs.tmp.gz" "$OUT/initramfs.cpio.gz"
    ln -sfn "kernel/boot/vmlinuz-$version" "$OUT/vmlinuz"
    ln -sfn "kernel/lib/modules/$version" "$OUT/modules"
    echo "$stamp" >"$OUT/initramfs.stamp"
    rm -rf "$stage"
}

mkdir -p "$OUT" || fail "build dir" "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
fetch_kernel
build_initramfs
