#!/usr/bin/env bash
# Times one-shot sandboxes that run busybox `true`, interleaved in rounds:
#   nullrun  nullrun sandbox: every setting null except time
#   bwrap    bubblewrap with fresh namespaces of every kind (--unshare-all)
#            and only the program bound into an empty root
#   crun     crun run of a busybox bundle with /bin/true (a full container)
#   exec     a bare fork and exec of the same program: the floor
# and prints ms per run per round, the medians and the median ratios of
# nullrun to each of the others.
#
# Usage: integration/bench/sandbox.sh [ROUNDS] [RUNS_PER_ROUND]   (as root)
set -euo pipefail

rounds=${1:-10}
runs=${2:-20}
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/nullrun-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

nullrun="$repo/bin/nullrun"
(cd "$repo" && go build -o "$nullrun" ./cmd/nullrun)
busybox=/bin/busybox

bundle="$work/bundle"
mkdir -p "$bundle/rootfs"/{bin,proc,sys,dev,tmp,etc}
cp "$busybox" "$bundle/rootfs/bin/busybox"
ln -s busybox "$bundle/rootfs/bin/true"
"$nullrun" spec --bundle "$bundle"
# crun 1.8.1 accepts runtime-spec versions up to 1.0.x only.
sed -i -e 's/"terminal": *true/"terminal": false/' \
	-e 's/"ociVersion": *"[^"]*"/"ociVersion": "1.0.2"/' \
	-e 's|^\([[:space:]]*\)"sh"$|\1"/bin/true"|' "$bundle/config.json"

# one NAME I runs one sandbox of kind NAME.
one() {
	case $1 in
	nullrun) "$nullrun" --root "$work/root-nullrun" sandbox --share time -- "$busybox" true ;;
	bwrap) bwrap --unshare-all --die-with-parent --ro-bind "$busybox" /busybox /busybox true ;;
	crun) crun --root "$work/root-crun" run --bundle "$bundle" "b-$2" ;;
	exec) "$busybox" true ;;
	esac
}

# time_runs NAME ROUND prints the mean ms per run of RUNS runs.
time_runs() {
	local name=$1 round=$2 i start end
	start=$(date +%s%N)
	for ((i = 0; i < runs; i++)); do
		one "$name" "$round-$i" </dev/null >/dev/null 2>&1 ||
			{ echo "$name run failed; run it by hand to see the error" >&2; return 1; }
	done
	end=$(date +%s%N)
	echo "scale=3; ($end - $start) / 1000000 / $runs" | bc
}

median() {
	sort -n | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

names=(nullrun exec)
command -v bwrap >/dev/null && names+=(bwrap)
command -v crun >/dev/null && names+=(crun)
declare -A results
printf '%-6s' round
printf '%10s' "${names[@]}"
echo
for ((round = 1; round <= rounds; round++)); do
	printf '%-6s' "$round"
	for name in "${names[@]}"; do
		if [[ $name == crun ]]; then
			# crun 1.8.1 rejects a cgroup v1 hybrid host while the cgroup2
			# mount is visible; hide it in a private mount namespace.
			ms=$(unshare -m bash -c "umount -l /sys/fs/cgroup/unified 2>/dev/null || true
				work='$work' bundle='$bundle' busybox='$busybox' nullrun='$nullrun' runs='$runs'
				$(declare -f one time_runs)
				time_runs crun '$round'" || echo failed)
		else
			ms=$(time_runs "$name" "$round" || echo failed)
		fi
		printf '%10s' "$ms"
		[[ $ms == failed ]] || results[$name]+="$ms"$'\n'
	done
	echo
done

echo
declare -A med
for name in "${names[@]}"; do
	if [[ -n ${results[$name]:-} ]]; then
		med[$name]=$(printf '%s' "${results[$name]}" | median)
		echo "median $name: ${med[$name]} ms per run"
	fi
done
for other in "${names[@]}"; do
	[[ $other == nullrun ]] && continue
	if [[ -n ${med[nullrun]:-} && -n ${med[$other]:-} ]]; then
		printf "nullrun/%s: %.2f\n" "$other" "$(echo "scale=4; ${med[nullrun]} / ${med[$other]}" | bc)"
	fi
done
