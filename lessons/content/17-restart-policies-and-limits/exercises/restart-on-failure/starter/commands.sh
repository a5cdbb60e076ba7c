# A job that fails one second after it starts.
docker run -d --name flaky busybox:1.35 sh -c 'echo "starting"; sleep 1; exit 3'
