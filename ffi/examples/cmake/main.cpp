// The smallest useful program against an installed libtaskgroup (see CMakeLists.txt): groups
// a 6-task affinity matrix into 2 groups and prints them with the certificate.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "taskgroup.h"

int main() {
    if (std::strcmp(taskgroup_version(), TASKGROUP_VERSION) != 0) {
        std::fprintf(stderr, "header %s but library %s\n", TASKGROUP_VERSION, taskgroup_version());
        return 1;
    }
    const size_t n = 6;
    // Tasks 0-2 help each other, tasks 3-5 too; little across.
    std::vector<double> t(n * n, 0.1);
    for (size_t u = 0; u < n; ++u) {
        for (size_t v = 0; v < n; ++v) {
            if ((u < 3) == (v < 3)) t[u * n + v] = 1.0;
        }
    }
    tg_options opts = tg_options_default();
    std::vector<uint32_t> labels(n);
    tg_report rep;
    if (tg_group(t.data(), n, 2, &opts, labels.data(), labels.size(), &rep) != TG_STATUS_OK) {
        char msg[256];
        tg_last_error_message(msg, sizeof msg, nullptr);
        std::fprintf(stderr, "tg_group failed: %s\n", msg);
        return 1;
    }
    std::printf("taskgroup %s: labels", taskgroup_version());
    for (uint32_t l : labels) std::printf(" %u", static_cast<unsigned>(l));
    std::printf("; value %.6f, upper bound %.6f, certified %s\n", rep.value, rep.upper_bound,
                rep.certified_optimal ? "yes" : "no");
    return (labels[0] == labels[1] && labels[1] == labels[2] && labels[3] == labels[4] &&
            labels[4] == labels[5] && labels[0] != labels[3])
               ? 0
               : 1;
}
