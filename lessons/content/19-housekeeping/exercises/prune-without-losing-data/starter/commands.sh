# A day on a small server: the database's volume (its container is stopped for an upgrade), a scratch
# volume nobody needs any more, a web server that must keep running, and two jobs that have finished.
docker volume create db-data
docker volume create --label purpose=scratch scratch
docker run --name db-init -v db-data:/data busybox:1.35 sh -c 'echo "orders: 42" > /data/orders.txt'
docker rm db-init
docker run -d --name web busybox:1.35 sleep 600
docker run --name job-1 busybox:1.35 echo "job 1 done"
docker run --name job-2 busybox:1.35 echo "job 2 done"

# Clean up.
docker container prune -f
docker volume prune -f
