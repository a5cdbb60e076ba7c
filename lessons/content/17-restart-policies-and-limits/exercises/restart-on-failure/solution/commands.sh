# Retry a failing job, but give up after three restarts.
docker run -d --name flaky --restart on-failure:3 busybox:1.35 sh -c 'echo "starting"; sleep 1; exit 3'
