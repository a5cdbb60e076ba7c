docker volume create shared
docker run --name producer -v shared:/out busybox:1.35 sh -c 'echo "made by producer" > /out/message.txt'
# The consumer mounts something at /in, but not the producer's volume.
docker run --name consumer -v /in busybox:1.35 cat /in/message.txt
