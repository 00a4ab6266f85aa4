#!/usr/bin/env bash
# Times `RUNTIME run` of a busybox bundle whose process is /bin/true, for
# nullrun, runc and crun interleaved in rounds, and prints ms per run per
# round and the median ratios nullrun/runc and nullrun/crun.
#
# Usage: integration/bench/spawn.sh [ROUNDS] [RUNS_PER_ROUND]   (as root)
#
# crun 1.8.1 rejects a cgroup v1 hybrid host while /sys/fs/cgroup/unified
# is mounted, so its runs happen in a private mount namespace with that
# mount detached. The unshare happens once per round, outside the timing.
set -euo pipefail

rounds=${1:-10}
runs=${2:-20}
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/nullrun-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

nullrun="$repo/bin/nullrun"
runc=$(command -v runc || true)
crun=$(command -v crun || true)

(cd "$repo" && go build -o "$nullrun" ./cmd/nullrun)

# The bundle comes from runc's spec when runc exists, so every runtime
# runs the same config.json.
spec_tool=${runc:-$nullrun}
bundle="$work/bundle"
mkdir -p "$bundle/rootfs"/{bin,proc,sys,dev,tmp,etc}
cp /bin/busybox "$bundle/rootfs/bin/busybox"
ln -s busybox "$bundle/rootfs/bin/true"
"$spec_tool" spec --bundle "$bundle"
sed -i -e 's/"terminal": *true/"terminal": false/' \
	-e 's|^\([[:space:]]*\)"sh"$|\1"/bin/true"|' "$bundle/config.json"

# time_runs RUNTIME ROOT PREFIX COUNT prints the mean ms per run.
time_runs() {
	local rt=$1 root=$2 prefix=$3 count=$4 i start end
	start=$(date +%s%N)
	for ((i = 0; i < count; i++)); do
		"$rt" --root "$root" run --bundle "$bundle" "$prefix-$i" </dev/null >/dev/null 2>&1 ||
			{ echo "$rt run of $prefix-$i failed; run it by hand to see the error" >&2; return 1; }
	done
	end=$(date +%s%N)
	echo "scale=3; ($end - $start) / 1000000 / $count" | bc
}

median() {
	sort -n | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

declare -A results
names=()
for rt in nullrun runc crun; do
	case $rt in
	nullrun) [[ -x $nullrun ]] && names+=(nullrun) ;;
	runc) [[ -n $runc ]] && names+=(runc) ;;
	crun) [[ -n $crun ]] && names+=(crun) ;;
	esac
done

# A round that fails prints "failed" and is left out of the medians rather
# than stopping the benchmark, so runc and crun can still be compared while
# one runtime cannot run the bundle.
for rt in "${names[@]}"; do
	results[$rt]=""
done
printf '%-6s' round
printf '%12s' "${names[@]}"
echo
for ((round = 1; round <= rounds; round++)); do
	printf '%-6s' "$round"
	for rt in "${names[@]}"; do
		root="$work/root-$rt"
		prefix="bench-$rt-$round"
		case $rt in
		nullrun) ms=$(time_runs "$nullrun" "$root" "$prefix" "$runs" || echo failed) ;;
		runc) ms=$(time_runs "$runc" "$root" "$prefix" "$runs" || echo failed) ;;
		crun)
			ms=$(unshare -m bash -c "umount -l /sys/fs/cgroup/unified 2>/dev/null || true
				bundle='$bundle'
				$(declare -f time_runs)
				time_runs '$crun' '$root' '$prefix' '$runs'" || echo failed)
			;;
		esac
		printf '%12s' "$ms"
		[[ $ms == failed ]] || results[$rt]+="$ms"$'\n'
	done
	echo
done

echo
declare -A med
for rt in "${names[@]}"; do
	if [[ -n ${results[$rt]} ]]; then
		med[$rt]=$(printf '%s' "${results[$rt]}" | median)
		echo "median $rt: ${med[$rt]} ms per run"
	else
		echo "median $rt: no successful round"
	fi
done
for other in runc crun; do
	if [[ -n ${med[nullrun]:-} && -n ${med[$other]:-} ]]; then
		printf "nullrun/%s: %.2f\n" "$other" "$(echo "scale=4; ${med[nullrun]} / ${med[$other]}" | bc)"
	fi
done
