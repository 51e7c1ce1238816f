"""CSAM "digital keys": registration office, video interview, activation, keys and key login.

Pure domain modules (no aiohttp): the web pages live in `identity_server.web.csam`.
"""
