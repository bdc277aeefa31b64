#!/bin/sh
# Runs each libFuzzer target once over every seal and stamp of the interop
# samples (both parsers get every file). Skips when the targets were not
# built (no clang with -fsanitize=fuzzer) or the samples are not there.
bin=${top_builddir:-.}/tests/fuzz
dir=${SEALKIT_INTEROP_DIR:-}
[ -n "$dir" ] && [ -d "$dir" ] || dir=${top_srcdir:-.}/../shared/interop
if [ ! -x "$bin/fuzz_seal" ] || [ ! -x "$bin/fuzz_stamp" ]; then
	echo "SKIP: fuzz targets not built (configure found no clang with -fsanitize=fuzzer)"
	exit 77
fi
if [ ! -d "$dir" ]; then
	echo "SKIP: no interop samples (\$SEALKIT_INTEROP_DIR or $dir)"
	exit 77
fi
n=$(find "$dir" -type f \( -name '*.esl' -o -name '*.dat' -o -name '*.DER' \) | wc -l)
if [ "$n" -eq 0 ]; then
	echo "SKIP: no .esl/.dat/.DER under $dir"
	exit 77
fi
for t in fuzz_seal fuzz_stamp; do
	echo "$t: $n samples"
	find "$dir" -type f \( -name '*.esl' -o -name '*.dat' -o -name '*.DER' \) -print0 |
		xargs -0 "$bin/$t" 2>&1 || { echo "FAIL: $t"; exit 1; }
done
exit 0
