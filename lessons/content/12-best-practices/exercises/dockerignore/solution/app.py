import os

from shop.orders import open_orders

print(f"The shop is open with {open_orders()} open orders. Files in /app:", ", ".join(sorted(os.listdir("/app"))))
