// The HTTP routes of `automl-gpt serve` (cpp-httplib, Debian's compiled build):
// POST /predict, GET /model, GET /health. Each error is translated here, once, into
// a status code and a JSON body {"error": {"code", "type", "message"}}.
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>

#include "automl/serve.h"
#include "automl/strings.h"

namespace automl {

namespace {

using Json = nlohmann::json;

const char* status_type(int status) {
  switch (status) {
    case 400: return "invalid_input";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 413: return "payload_too_large";
    case 415: return "unsupported_media_type";
    default: return status >= 500 ? "internal" : "error";
  }
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  Json j = {{"error", {{"code", status}, {"type", status_type(status)}, {"message", message}}}};
  // A message may quote the body (a JSON parser's "last read"): bytes that are not UTF-8
  // are replaced rather than failing the answer.
  res.set_content(j.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

// The media type of a header value, lower case, without parameters ("text/csv; charset=utf-8").
std::string media_type(const std::string& value) {
  std::string t = trim(value.substr(0, value.find(';')));
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return t;
}

bool is_csv_type(const std::string& t) { return t == "text/csv" || t == "application/csv"; }

constexpr const char* kRoutes = "POST /predict, GET /model, GET /health";

// httplib's server, with a longer queue of connections waiting to be accepted. Its
// own is 5 (CPPHTTPLIB_LISTEN_BACKLOG, fixed when Debian compiled it): a burst of more
// clients than that connecting at once overflows it and some are reset.
class HttpServer : public httplib::Server {
 public:
  void widen_backlog() { ::listen(svr_sock_, SOMAXCONN); }  // Linux adjusts a listening socket's backlog
};

}  // namespace

int http_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidInput:
    case ErrorKind::kNotFound:  // a column the request lacks
    case ErrorKind::kUnsupported: return 400;
    case ErrorKind::kBudget:
    case ErrorKind::kExternal:
    case ErrorKind::kIo:
    case ErrorKind::kInternal: return 500;
  }
  return 500;
}

struct Server::Impl {
  std::shared_ptr<const ModelService> model;
  ServeOptions options;
  HttpServer http;
  int port = -1;
  std::mutex stop_mu;
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> listening{false};
  bool stopped = false;
};

Server::Server(std::shared_ptr<const ModelService> model, ServeOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->model = std::move(model);
  impl_->options = std::move(options);
  Impl& s = *impl_;
  const std::size_t workers = static_cast<std::size_t>(std::max(1, s.options.workers));
  s.http.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  s.http.set_payload_max_length(s.options.max_body_bytes);
  // A response goes out in more than one write (headers, then body): without
  // TCP_NODELAY, Nagle's algorithm holds the body until the client's delayed ACK,
  // about 40 ms, on every small answer over a keep-alive connection.
  s.http.set_tcp_nodelay(true);
  // SO_REUSEADDR only: a restarted server takes back a port still in TIME_WAIT, but a
  // second server on a port in use fails to bind. (httplib's default, SO_REUSEPORT,
  // would let it share the port with the first and split the requests silently.)
  s.http.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });

  s.http.Post("/predict", [this](const httplib::Request& req, httplib::Response& res) {
    const ModelService& model = *impl_->model;
    try {
      const std::string type = media_type(req.get_header_value("Content-Type"));
      const bool csv = is_csv_type(type);
      if (!csv && !type.empty() && type != "application/json") {
        send_error(res, 415,
                   "the body's Content-Type is " + quote_value(type) +
                       "; send JSON rows as application/json or a CSV file as text/csv");
        return;
      }
      const bool csv_out = req.get_header_value("Accept").find("text/csv") != std::string::npos;
      Table rows = csv ? model.rows_from_csv(req.body) : model.rows_from_json(req.body);
      res.set_content(model.predict(rows, csv_out ? PredictionFormat::kCsv : PredictionFormat::kJson),
                      csv_out ? "text/csv" : "application/json");
    } catch (const Error& e) {
      send_error(res, http_status(e.kind()), e.what());
    } catch (const std::exception& e) {
      send_error(res, 500, std::string("internal error: ") + e.what());
    }
  });
  s.http.Get("/predict", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Allow", "POST");
    send_error(res, 405, "POST the rows to /predict (JSON rows as application/json, or a CSV file as text/csv)");
  });
  s.http.Get("/model", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(impl_->model->description().dump(2), "application/json");
  });
  s.http.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status": "ok"})", "application/json");
  });
  // Statuses httplib sets itself: 404 for an unknown route, 413 for a body over the
  // limit, 400 for a request it cannot read.
  httplib::Server::HandlerWithResponse on_error = [this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string message;
    switch (res.status) {
      case 404: message = fmt::format("no route {} {}; the routes are {}", req.method, req.path, kRoutes); break;
      case 413:
        message = fmt::format("the body is over the limit of {} bytes (automl-gpt serve --max-body)",
                              impl_->options.max_body_bytes);
        break;
      default: message = fmt::format("the request could not be read (HTTP status {})", res.status);
    }
    send_error(res, res.status, message);
    return httplib::Server::HandlerResponse::Handled;
  };
  s.http.set_error_handler(on_error);
  s.http.set_logger([this](const httplib::Request&, const httplib::Response& res) {
    ++requests_;
    if (res.status >= 400) ++failed_;
  });
}

Server::~Server() { stop(); }

int Server::bind() {
  Impl& s = *impl_;
  if (s.options.port == 0) {
    s.port = s.http.bind_to_any_port(s.options.host);
  } else if (s.http.bind_to_port(s.options.host, s.options.port)) {
    s.port = s.options.port;
  }
  if (s.port > 0) s.http.widen_backlog();
  if (s.port <= 0) {
    throw_io(fmt::format("cannot listen on {}:{}: the port is taken or {} is not an address of this machine "
                         "(try another --port, or --port 0 for a free one)",
                         s.options.host, s.options.port, s.options.host));
  }
  return s.port;
}

void Server::listen() {
  Impl& s = *impl_;
  if (s.port <= 0) throw_internal("Server::listen before bind");
  {
    std::lock_guard<std::mutex> lock(s.stop_mu);
    if (s.stop_requested) return;
    s.listening = true;
  }
  const bool ok = s.http.listen_after_bind();
  s.listening = false;
  if (!ok && !s.stop_requested) throw_io(fmt::format("the server on {} stopped listening", url()));
}

void Server::stop() {
  Impl& s = *impl_;
  s.stop_requested = true;
  std::lock_guard<std::mutex> lock(s.stop_mu);
  if (s.stopped) return;
  // listen() may be between its start and httplib's accept loop: wait for the loop.
  while (s.listening && !s.http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (s.http.is_running()) {
    s.http.stop();
    s.stopped = true;
  }
}

std::string Server::url() const {
  const std::string& host = impl_->options.host;
  const bool v6 = host.find(':') != std::string::npos;
  return fmt::format("http://{}{}{}:{}", v6 ? "[" : "", host, v6 ? "]" : "", impl_->port);
}

}  // namespace automl
