#!/usr/bin/env bash
# Fault drills (SPEC §8: a failing rank makes every rank exit non-zero within 60 s, naming the rank;
# never a hang). Usage: test_dist_faults.sh MPIEXEC TEST_DIST
#   throw: rank 1 throws an uncaught mm::Error while the others wait in a collective → mpirun must
#          exit non-zero within 60 s and stderr must name rank 1 and the error.
#   kill:  rank 1 kills itself with SIGKILL → mpirun must exit non-zero within 60 s, naming rank 1
#          (Open MPI's "mpirun noticed that process rank 1 ... exited on signal 9").
#   exit:  rank 1 calls exit(1) (an error path that forgets abort_world) → the others must notice
#          its exit notice and abort within 60 s, naming rank 1.
# As root, Open MPI needs OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 (ctest sets them).
set -u
mpiexec=$1
prog=$2
fail=0
for np in 2 4; do
  for mode in throw kill exit; do
    log=$(mktemp)
    start=$(date +%s)
    timeout 60 "$mpiexec" --oversubscribe -np "$np" "$prog" --fault="$mode" >"$log" 2>&1
    rc=$?
    took=$(( $(date +%s) - start ))
    what="np=$np $mode"
    bad=0
    if [ "$rc" -eq 124 ]; then
      echo "FAIL $what: still running after 60 s (a hang)"; bad=1
    elif [ "$rc" -eq 0 ]; then
      echo "FAIL $what: exited 0"; bad=1
    elif [ "$mode" = throw ] && ! grep -q "rank 1: uncaught exception: fault_drill: rank 1 fails on purpose" "$log"; then
      echo "FAIL $what: stderr does not name rank 1 and its error"; bad=1
    elif [ "$mode" = kill ] && ! grep -q "process rank 1 .*signal 9" "$log"; then
      echo "FAIL $what: mpirun's report does not name rank 1 and the signal"; bad=1
    elif [ "$mode" = exit ] && ! grep -q "rank 1 has exited while this rank waits for it in all_reduce" "$log"; then
      echo "FAIL $what: no rank reported that rank 1 left"; bad=1
    elif grep -q "got past a collective" "$log"; then
      echo "FAIL $what: a surviving rank completed a collective without rank 1"; bad=1
    else
      echo "ok   $what: exit $rc after ${took} s"
    fi
    if [ "$bad" -ne 0 ]; then fail=1; sed 's/^/    | /' "$log"; fi
    rm -f "$log"
  done
done
exit $fail
