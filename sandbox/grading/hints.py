"""The hint a failed check shows when its exercise gives none: what to change, per check type.

Exercises should write their own hint for each check (tests/test_exercise_specs.py holds the shipped course
to that); these defaults make sure a learner never meets a failed check with nothing to go on, for example
in an exercise edited in the admin.
"""

from __future__ import annotations

DEFAULT_HINTS = {
    "lint": "Read the rule's message next to the line it names; the lesson section linked here explains the rule.",
    "stages": "Each FROM starts a stage; count the FROM lines against what the exercise asks for.",
    "base-image": "Check the FROM lines: the image name and its tag must be the ones the exercise asks for.",
    "non-root-user": "Create a user with RUN useradd (or adduser), then switch to it with USER before CMD.",
    "healthcheck-instruction": "Add a HEALTHCHECK instruction to the final stage, before CMD.",
    "exec-form": 'Write CMD and ENTRYPOINT as JSON lists, such as CMD ["python", "app.py"], so no shell is PID 1.',
    "install-order": "Copy the dependency manifest alone, install from it, and copy the rest of the source after.",
    "no-secrets": "Pass secrets when the container starts (-e, --env-file, a mounted file), never with ENV or ARG.",
    "instructions": "The message names the instruction and the line; change it as the exercise describes.",
    "build": "Read the build log from the bottom up: the failing step and its error are at the end.",
    "image-size": "Start from a smaller base image, or copy only what the app needs into the final stage.",
    "layers": "Join related RUN steps with && and copy files in fewer steps.",
    "image-user": "Set USER in the Dockerfile to the user the exercise asks for; the last USER wins.",
    "ports": "Add an EXPOSE line for each port the app listens on.",
    "env": "Check the ENV lines: set what the exercise asks for, and remove what it forbids.",
    "workdir": "Set the working directory with WORKDIR; the last one in the final stage wins.",
    "history": "Anything a build step's command line contains is kept in the image history: remove it from "
    "the Dockerfile and pass it at run time instead.",
    "files": "Check what your COPY lines and .dockerignore let into the image, and where they put it.",
    "command": "Run the image yourself with the same command and read its output and exit code.",
    "service": "The app must keep running in the foreground and answer on the port: check CMD, the port it "
    "binds and its output in the message.",
    "listen": 'Bind the server to 0.0.0.0 (every interface), for example gunicorn --bind 0.0.0.0:8000 or app.run(host="0.0.0.0").',
    "health": "Run the HEALTHCHECK command by hand in the running container: it must exit with 0 while the app works.",
    "unhealthy": "The HEALTHCHECK must ask the app itself, with a time limit, and exit non-zero when it gets no "
    "answer or an error status; a command that always succeeds never reports a problem.",
    "stop": "Make the app PID 1 with an exec-form CMD (or exec in a script), so docker stop's SIGTERM reaches it.",
    "run-args": 'Arguments after the image name replace CMD and reach the ENTRYPOINT script as "$@": end the '
    'script with exec "$@".',
    "read-only": "Run the image with --read-only: each 'Read-only file system' error names a path to move to a "
    "tmpfs such as /tmp (often with an environment variable).",
    "no-setuid": "Remove the setuid and setgid bits in the image: RUN find / -xdev -perm /6000 -type f "
    "-exec chmod a-s {} +",
    "build-secret": "Mount the secret only in the step that needs it (RUN --mount=type=secret,id=...) and "
    "never copy its value into a file, an ENV or a command line.",
    "cache": "Copy and install the dependencies before copying the source that changes, so the install step's "
    "inputs stay the same.",
    "compare": "Compare your image's layers with the lesson's example: only the final stage's files count.",
    # Labs (command and Compose labs).
    "lab-run": "Read the lab's log: each command is shown with its output and exit code; fix the first one that "
    "was refused or failed.",
    "commands-used": "Add the command to commands.sh, aimed at the container named in the check, so its "
    "output is in the lab's log; read what it shows before you change anything.",
    "registry": "Tag the image with the sandbox's registry and a version (docker tag IMAGE "
    "localhost:5000/REPOSITORY:TAG), push that name, and pull it back with docker pull.",
    "container-state": "Run docker ps -a and docker inspect on the container: its status, exit code and "
    "restart count are what this check reads.",
    "container-config": "docker inspect shows the container's settings; set the missing one with the matching "
    "docker run flag (or Compose key) when the container is created.",
    "volume": "Mount a named volume (-v NAME:/path) so the data lives in the volume, not in the container that "
    "wrote it.",
    "reach": "Put both containers on the same user-defined network (--network NAME) and use the other "
    "container's name; containers on different networks cannot reach each other.",
    "http": "The service must listen on that port on every interface of its container, and the caller must be "
    "on a network that reaches it by name.",
    "probe": "Run the same command yourself with docker exec and compare its output with what the check expects.",
    "healthy": "Give the service a healthcheck that tests the real server, and wait for it with depends_on: "
    "condition: service_healthy.",
    "survives-down-up": "Keep the data in a named volume: docker compose down removes containers, and only a "
    "named volume (without -v) keeps what they wrote.",
}
GENERIC_HINT = "Read the message above: it says what the grader found. The lesson section linked here shows how."


def default_hint(check_type: str) -> str:
    return DEFAULT_HINTS.get(check_type, GENERIC_HINT)
