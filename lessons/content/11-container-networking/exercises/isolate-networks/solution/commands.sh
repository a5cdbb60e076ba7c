docker network create frontend
docker network create backend
docker run -d --name db --network backend redis:7
docker run -d --name api --network backend busybox:1.35 sh -c 'mkdir -p /www && echo api > /www/index.html && httpd -f -p 8080 -h /www'
# A container can be on several networks: api joins the front end too.
docker network connect frontend api
docker run -d --name web --network frontend busybox:1.35 sleep 300
