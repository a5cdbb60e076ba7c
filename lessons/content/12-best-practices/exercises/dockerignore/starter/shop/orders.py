def open_orders() -> int:
    return 3
