# Build the worker and prepare its queue: a volume with an incoming and a done folder.
docker build -t worker:1.0 .
docker volume create queue
docker run --rm -v queue:/queue busybox:1.35 mkdir -p /queue/incoming /queue/done

# Start the worker and hand it a job. Something is wrong: find out what before you change anything.
docker run -d --name worker -v queue:/data worker:1.0
docker cp job-1.txt worker:/queue/incoming/job-1.txt
