import os
import pwd


def user_name(uid: int) -> str:
    # A numeric USER (USER 10001) needs no entry in /etc/passwd, so the name may not exist.
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return "a user with no name"


uid = os.getuid()
print(f"Processing orders as {user_name(uid)} (uid {uid})")
