# A named volume outlives the containers that use it.
docker volume create notes
docker run --name writer -v notes:/data busybox:1.35 sh -c 'echo "remember the milk" > /data/note.txt'
docker rm writer
docker run --name reader -v notes:/data busybox:1.35 cat /data/note.txt
docker volume inspect --format '{{ .Name }} is mounted at {{ .Mountpoint }}' notes
