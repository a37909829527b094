// libtaskgroup from C++17: group an affinity matrix, pick k automatically, and drive a short
// AdaGroup session (with a checkpoint saved and restored half-way) against a simulated trainer.
//
// Build (from the repository root, after `cargo build -p taskgroup-ffi`):
//   g++ -std=c++17 -Wall -Wextra -Werror -Iinclude ffi/examples/c++/example.cpp
//       -Ltarget/debug -ltaskgroup -Wl,-rpath,$PWD/target/debug -o example
//   ./example [affinity.csv]     # CSV: header row of names, first column of names
#include <cstdint>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "taskgroup.h"

namespace tg {

// A failed call: its status and the library's detailed message.
class Error : public std::runtime_error {
public:
    Error(tg_status status, const std::string &message)
        : std::runtime_error(message), status_(status) {}
    tg_status status() const { return status_; }

private:
    tg_status status_;
};

// The detailed message of the last failure on this thread.
std::string last_error() {
    size_t needed = 0;
    tg_last_error_message(nullptr, 0, &needed);  // asks for the size
    std::string s(needed, '\0');
    if (needed == 0 || tg_last_error_message(&s[0], s.size(), nullptr) != TG_STATUS_OK) {
        return std::string();
    }
    s.resize(needed - 1);
    return s;
}

void check(tg_status status) {
    if (status != TG_STATUS_OK) {
        throw Error(status, std::string(tg_status_message(status)) + ": " + last_error());
    }
}

// Groups found for an n×n row-major matrix.
struct Grouping {
    std::vector<uint32_t> labels;
    tg_report report;
};

Grouping group(const std::vector<double> &t, size_t n, size_t k, const tg_options &opts) {
    Grouping g{std::vector<uint32_t>(n), tg_report{}};
    check(tg_group(t.data(), n, k, &opts, g.labels.data(), g.labels.size(), &g.report));
    return g;
}

Grouping group_auto(const std::vector<double> &t, size_t n, const tg_options &opts,
                    const tg_k_search &search) {
    Grouping g{std::vector<uint32_t>(n), tg_report{}};
    size_t k = 0;
    check(tg_group_auto(t.data(), n, &opts, &search, g.labels.data(), g.labels.size(), &k,
                        &g.report));
    return g;
}

struct SessionFree {
    void operator()(tg_session *s) const { tg_session_free(s); }
};

// An AdaGroup session owning its handle.
class Session {
public:
    explicit Session(const tg_session_settings &settings) {
        tg_session *s = nullptr;
        check(tg_session_new(&settings, &s));
        handle_.reset(s);
    }

    static Session load(const std::vector<uint8_t> &bytes) {
        tg_session *s = nullptr;
        check(tg_session_load(bytes.data(), bytes.size(), &s));
        return Session(s);
    }

    struct Request {
        tg_request_id id;
        std::vector<uint32_t> tasks;
    };

    std::vector<Request> next_requests() const {
        size_t nreq = 0, ntasks = 0;
        tg_status st =
            tg_session_next_requests(handle_.get(), nullptr, 0, nullptr, 0, &nreq, &ntasks);
        if (st != TG_STATUS_BUFFER_TOO_SMALL) {
            check(st);
            return {};
        }
        std::vector<tg_request> reqs(nreq);
        std::vector<uint32_t> tasks(ntasks);
        check(tg_session_next_requests(handle_.get(), reqs.data(), reqs.size(), tasks.data(),
                                       tasks.size(), &nreq, &ntasks));
        std::vector<Request> out;
        for (const tg_request &r : reqs) {
            auto first = tasks.begin() + static_cast<std::ptrdiff_t>(r.first_task);
            out.push_back({r.id, std::vector<uint32_t>(
                                     first, first + static_cast<std::ptrdiff_t>(r.num_tasks))});
        }
        return out;
    }

    void report(tg_request_id id, const std::vector<double> &scores) {
        check(tg_session_report(handle_.get(), id, scores.data(), scores.size(), nullptr));
    }

    tg_step_summary advance() {
        tg_step_summary s{};
        check(tg_session_advance(handle_.get(), &s));
        return s;
    }

    tg_session_progress progress() const {
        tg_session_progress p{};
        check(tg_session_get_progress(handle_.get(), &p));
        return p;
    }

    std::vector<uint32_t> labels() const {
        std::vector<uint32_t> l(progress().n);
        check(tg_session_groups(handle_.get(), l.data(), l.size(), nullptr, nullptr));
        return l;
    }

    std::vector<uint8_t> save() const {
        size_t size = 0;
        tg_status st = tg_session_save(handle_.get(), nullptr, 0, &size);
        if (st != TG_STATUS_BUFFER_TOO_SMALL) {
            check(st);
        }
        std::vector<uint8_t> bytes(size);
        check(tg_session_save(handle_.get(), bytes.data(), bytes.size(), &size));
        return bytes;
    }

private:
    explicit Session(tg_session *s) : handle_(s) {}
    std::unique_ptr<tg_session, SessionFree> handle_;
};

}  // namespace tg

namespace {

// "{0 1 2} {3 4 5}" from labels (TG_NO_GROUP: not grouped yet), with names when given.
std::string format_groups(const std::vector<uint32_t> &labels,
                          const std::vector<std::string> &names) {
    uint32_t groups = 0;
    for (uint32_t l : labels) {
        if (l != TG_NO_GROUP && l + 1 > groups) {
            groups = l + 1;
        }
    }
    std::ostringstream out;
    for (uint32_t g = 0; g < groups; g++) {
        out << (g ? " {" : "{");
        bool first = true;
        for (size_t t = 0; t < labels.size(); t++) {
            if (labels[t] == g) {
                out << (first ? "" : " ") << (names.empty() ? std::to_string(t) : names[t]);
                first = false;
            }
        }
        out << "}";
    }
    return out.str();
}

// Reads a CSV with a header row of names and a first column of names.
bool read_csv(const std::string &path, std::vector<double> &t, std::vector<std::string> &names) {
    std::ifstream in(path);
    std::string line;
    if (!in || !std::getline(in, line)) {
        return false;
    }
    std::istringstream header(line);
    std::string cell;
    std::getline(header, cell, ',');  // corner
    while (std::getline(header, cell, ',')) {
        names.push_back(cell);
    }
    while (std::getline(in, line)) {
        std::istringstream row(line);
        std::getline(row, cell, ',');  // row name
        while (std::getline(row, cell, ',')) {
            t.push_back(std::stod(cell));
        }
    }
    return true;
}

constexpr size_t kPlantedN = 9;
size_t planted_group(size_t task) { return task / 3; }

// A simulated trainer: a task scores higher with partners from its own planted group.
double simulated_score(uint32_t task, const std::vector<uint32_t> &subset) {
    double s = 1.0 + 0.01 * task;
    for (uint32_t other : subset) {
        if (other != task) {
            s += (planted_group(task) == planted_group(other) ? 0.6 : -0.4) /
                 static_cast<double>(subset.size());
        }
    }
    return s;
}

}  // namespace

int main(int argc, char **argv) {
    try {
        std::cout << "libtaskgroup " << taskgroup_version() << " (header " << TASKGROUP_VERSION
                  << ")\n";
        std::vector<double> t;
        std::vector<std::string> names;
        if (argc > 1) {
            if (!read_csv(argv[1], t, names)) {
                std::cerr << "cannot read " << argv[1] << "\n";
                return 2;
            }
        } else {
            for (size_t u = 0; u < kPlantedN; u++) {
                for (size_t v = 0; v < kPlantedN; v++) {
                    t.push_back(planted_group(u) == planted_group(v) ? 1.0 : 0.2);
                }
            }
        }
        const size_t n = names.empty() ? kPlantedN : names.size();

        // 1. Group into k = 3.
        tg_options opts = tg_options_default();
        tg::Grouping g = tg::group(t, n, 3, opts);
        std::cout << "k=3 groups: " << format_groups(g.labels, names) << "\n"
                  << "  value " << g.report.value << ", upper bound " << g.report.upper_bound
                  << ", gap " << g.report.gap << ", certified "
                  << (g.report.certified_optimal ? "yes" : "no") << "\n";

        // 2. Let the elbow rule pick k in 2..5.
        tg_k_search search = tg_k_search_default();
        search.k_min = 2;
        search.k_max = 5;
        search.k_rule = TG_K_RULE_ELBOW;
        tg::Grouping a = tg::group_auto(t, n, opts, search);
        std::cout << "elbow picks k=" << a.report.k << ": " << format_groups(a.labels, names)
                  << "\n";

        // 3. Errors are exceptions with the library's message.
        try {
            tg::group(t, n, n + 1, tg_options_default());
        } catch (const tg::Error &e) {
            std::cout << "expected error: " << e.what() << "\n";
        }

        // 4. A short AdaGroup session on the planted tasks, checkpointed half-way.
        tg_session_settings settings = tg_session_settings_default(kPlantedN, 4, 3);
        settings.subset_size = 3;
        settings.seed = 1;
        auto session = std::make_unique<tg::Session>(settings);
        while (!session->progress().done) {
            for (const auto &r : session->next_requests()) {
                std::vector<double> scores;
                for (uint32_t task : r.tasks) {
                    scores.push_back(simulated_score(task, r.tasks));
                }
                session->report(r.id, scores);
            }
            tg_step_summary s = session->advance();
            std::cout << "step " << s.step << ": " << format_groups(session->labels(), {})
                      << " (" << s.tasks_seen << " tasks, " << s.total_subsets_trained
                      << " subsets trained)\n";
            if (s.step == 0) {
                std::vector<uint8_t> bytes = session->save();
                session = std::make_unique<tg::Session>(tg::Session::load(bytes));
                std::cout << "checkpoint: " << bytes.size() << " bytes, restored\n";
            }
        }
        std::vector<uint32_t> labels = session->labels();
        std::cout << "session groups: " << format_groups(labels, {}) << "\n";
        for (size_t task = 0; task < kPlantedN; task++) {
            if (labels[task] != planted_group(task)) {
                std::cerr << "the session did not recover the planted groups\n";
                return 1;
            }
        }
        return 0;
    } catch (const std::exception &e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}
