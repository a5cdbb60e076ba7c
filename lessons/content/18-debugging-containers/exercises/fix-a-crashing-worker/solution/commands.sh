# Build the worker and prepare its queue: a volume with an incoming and a done folder.
docker build -t worker:1.0 .
docker volume create queue
docker run --rm -v queue:/queue busybox:1.35 mkdir -p /queue/incoming /queue/done

# Start the worker as before. It stops at once.
docker run -d --name worker -v queue:/data worker:1.0

# What did it say, and what did Docker give it?
docker logs worker
docker inspect --format '{{.State.Status}}, exit code {{.State.ExitCode}}' worker
docker inspect --format '{{range .Mounts}}{{.Name}} is mounted at {{.Destination}}{{println}}{{end}}' worker
docker inspect --format '{{json .Config.Env}}' worker

# The logs say it looks in /queue; inspect says the volume is at /data. Start it with the volume where it looks.
docker rm worker
docker run -d --name worker -v queue:/queue worker:1.0
docker cp job-1.txt worker:/queue/incoming/job-1.txt
docker top worker
docker stats --no-stream worker
docker events --since 1m --until 0s --filter container=worker
docker exec worker ls /queue/incoming /queue/done
