# Write a note in one container, remove it, then read the note from another.
docker run --name writer busybox:latest sh -c 'mkdir -p /data && echo "remember the milk" > /data/note.txt'
docker rm writer
docker run --name reader busybox:latest cat /data/note.txt
