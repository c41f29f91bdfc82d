"""A static HTTP server for `deno task bench download` that costs the machine
almost no CPU: the body goes out with sendfile(2), as nginx and other
production servers send files. Deno has no sendfile, and Deno.serve streaming
a file costs about a core, on a 2-core machine the same core the
client under test needs (docs/benchmarks.md). A remote server costs the client
machine nothing; this one comes closest on one machine.

Usage: python3 sendfile_server.py ROOT   (prints the port, serves ROOT/NAME)
"""
import http.server
import os
import socketserver
import sys

ROOT = sys.argv[1]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        name = os.path.basename(self.path.lstrip("/"))
        try:
            f = open(os.path.join(ROOT, name), "rb")
        except OSError:
            self.send_response(404)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        with f:
            self.send_response(200)
            self.send_header("content-length", str(os.fstat(f.fileno()).st_size))
            self.end_headers()
            self.wfile.flush()
            self.connection.sendfile(f)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


server = Server(("127.0.0.1", 0), Handler)
# One write, then no more output: the bench reads the port and closes the pipe.
os.write(1, b"%d\n" % server.server_address[1])
os.close(1)
server.serve_forever()
