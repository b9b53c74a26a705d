"""The runnable tools: the `citycam` command, the fleet simulator and the embedded Postgres driver.

They import `shared` and start `services`; nothing in `shared` or `services` imports them.
"""
