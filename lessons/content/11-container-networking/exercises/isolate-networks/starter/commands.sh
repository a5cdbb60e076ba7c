docker network create appnet
docker run -d --name db --network appnet redis:7
docker run -d --name api --network appnet busybox:1.35 sh -c 'mkdir -p /www && echo api > /www/index.html && httpd -f -p 8080 -h /www'
docker run -d --name web --network appnet busybox:1.35 sleep 300
