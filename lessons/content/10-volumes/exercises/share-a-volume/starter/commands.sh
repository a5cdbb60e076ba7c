docker volume create shared
docker run --name producer -v shared:/out busybox:latest sh -c 'echo "made by producer" > /out/message.txt'
# The consumer mounts something at /in, but not the producer's volume.
docker run --name consumer -v /in busybox:latest cat /in/message.txt
