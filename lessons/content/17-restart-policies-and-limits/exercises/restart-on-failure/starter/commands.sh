# A job that fails one second after it starts.
docker run -d --name flaky busybox:latest sh -c 'echo "starting"; sleep 1; exit 3'
