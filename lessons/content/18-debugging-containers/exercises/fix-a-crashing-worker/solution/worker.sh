#!/bin/sh
# A queue worker: it takes each job file dropped in $QUEUE_DIR/incoming, writes the result to
# $QUEUE_DIR/done and removes the job. The queue lives in a volume that other containers fill.
queue="${QUEUE_DIR:-/queue}"
if [ ! -d "$queue/incoming" ] || [ ! -d "$queue/done" ]; then
  echo "worker: cannot read jobs: $queue/incoming or $queue/done does not exist" >&2
  exit 66
fi
trap 'echo "worker: stopping"; exit 0' TERM INT
echo "worker: watching $queue/incoming"
while true; do
  for job in "$queue"/incoming/*.txt; do
    [ -e "$job" ] || continue
    name=$(basename "$job" .txt)
    echo "worker: processing $name"
    { cat "$job"; echo "processed by worker"; } > "$queue/done/$name.txt"
    rm -f "$job"
    echo "worker: done $name"
  done
  sleep 0.5 &
  wait $!
done
