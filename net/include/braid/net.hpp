// braid's cooperative networking: TcpStream, TcpListener, StreamServer, ServerGroup (a
// StreamServer in pre-forked worker processes), UdpSocket, UnixStream, UnixListener,
// StreamSocket (what TcpStream and UnixStream share: recv, send, sendall...), select()
// and BasicSelector (includes coro.hpp).
//
// What may switch: connect, accept, recv, recv_exact, recvfrom, send, sendall, sendto,
// read_some, write_some, select, BasicSelector::select, StreamServer::serve_forever and
// stop. Each parks only the calling coroutine and honours set_timeout and enclosing
// braid::Timeout scopes; in `main` each runs the hub until it can return. try_accept,
// close, register_fd/modify/unregister and StreamServer::start never park;
// ServerGroup's start, serve_forever, stop and reload park.
#pragma once

#include <braid/coro.hpp>
#include <braid/net/address.hpp>
#include <braid/net/select.hpp>
#include <braid/net/selector.hpp>
#include <braid/net/server_group.hpp>
#include <braid/net/stream_server.hpp>
#include <braid/net/stream_socket.hpp>
#include <braid/net/tcp_listener.hpp>
#include <braid/net/tcp_stream.hpp>
#include <braid/net/udp_socket.hpp>
#include <braid/net/unix_socket.hpp>
