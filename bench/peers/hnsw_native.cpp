// Native hnswlib peer for `bench hnsw`: Debian's libhnswlib-dev headers compiled by the benchmark with
// g++ -O3 -march=native (the Python wheel is built for a generic CPU). Same protocol as hnsw.py: build (M,
// efConstruction, threads; hnswlib's own ParallelFor pattern: each thread takes the next row) on base.npy with rows
// L2-normalised ("cosine" = inner product of unit vectors, as hnswlib's Python cosine space), save, free, reload (resident
// bytes: the anonymous memory a fresh process, this program with --resident, gains while loading), then single-threaded searches of
// queries.npy at each ef, recall@k against truth.npy. Prints one JSON object.
// Usage: hnsw_native base.npy queries.npy truth.npy M efConstruction threads ef,ef,... repeats index-file
#include <hnswlib/hnswlib.h>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

template <typename T>
static std::vector<T> load_npy(const char* path, size_t& rows, size_t& cols) {
    std::ifstream f(path, std::ios::binary);
    char magic[8];
    f.read(magic, 8);
    uint16_t len = 0;
    f.read(reinterpret_cast<char*>(&len), 2);
    std::string header(len, ' ');
    f.read(&header[0], len);
    size_t open = header.find('('), comma = header.find(',', open), close = header.find(')', open);
    rows = std::stoul(header.substr(open + 1, comma - open - 1));
    cols = std::stoul(header.substr(comma + 1, close - comma - 1));
    std::vector<T> data(rows * cols);
    f.read(reinterpret_cast<char*>(data.data()), data.size() * sizeof(T));
    return data;
}

static long anonymous_kb() {
    std::ifstream f("/proc/self/smaps_rollup");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("Anonymous:", 0) == 0) return std::stol(line.substr(10));
    return -1;
}

static double cpu_seconds() {
    timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void normalize(float* x, size_t d) {
    double s = 0;
    for (size_t j = 0; j < d; j++) s += double(x[j]) * x[j];
    float inv = s > 0 ? float(1 / std::sqrt(s)) : 0.f;
    for (size_t j = 0; j < d; j++) x[j] *= inv;
}

// --resident index-file d: the anonymous memory a fresh process gains while reading the saved index.
static int resident(const char* path, size_t d) {
    hnswlib::InnerProductSpace space(d);
    long before = anonymous_kb();
    auto* index = new hnswlib::HierarchicalNSW<float>(&space, path);
    printf("%ld\n", (anonymous_kb() - before) * 1024);
    delete index;
    return 0;
}

int main(int argc, char** argv) {
    if (argc == 4 && std::string(argv[1]) == "--resident") return resident(argv[2], std::stoul(argv[3]));
    if (argc < 10) { fprintf(stderr, "usage: see the header comment\n"); return 2; }
    size_t n, d, nq, dq, nt, k;
    std::vector<float> x = load_npy<float>(argv[1], n, d);
    std::vector<float> q = load_npy<float>(argv[2], nq, dq);
    std::vector<int32_t> truth = load_npy<int32_t>(argv[3], nt, k);
    int m = atoi(argv[4]), efc = atoi(argv[5]), threads = atoi(argv[6]), repeats = atoi(argv[8]);
    std::string index_path = argv[9];
    for (size_t i = 0; i < n; i++) normalize(&x[i * d], d);
    for (size_t i = 0; i < nq; i++) normalize(&q[i * d], d);

    hnswlib::InnerProductSpace space(d);
    double build, build_cpu;
    {
        auto* index = new hnswlib::HierarchicalNSW<float>(&space, n, m, efc, 100);
        auto t0 = std::chrono::steady_clock::now();
        double c0 = cpu_seconds();
        std::atomic<size_t> next(0);
        std::vector<std::thread> pool;
        for (int t = 0; t < threads; t++)
            pool.emplace_back([&] {
                for (size_t i; (i = next.fetch_add(1)) < n;) index->addPoint(&x[i * d], i);
            });
        for (auto& t : pool) t.join();
        build = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        build_cpu = cpu_seconds() - c0;
        index->saveIndex(index_path);
        delete index;
    }
    long resident_bytes = -1;
    if (FILE* p = popen((std::string(argv[0]) + " --resident " + index_path + " " + std::to_string(d)).c_str(), "r")) {
        if (fscanf(p, "%ld", &resident_bytes) != 1) resident_bytes = -1;
        pclose(p);
    }
    auto* index = new hnswlib::HierarchicalNSW<float>(&space, index_path);
    std::ifstream sized(index_path, std::ios::binary | std::ios::ate);
    double file_bytes = double(sized.tellg()) / n;

    std::ostringstream sweep;
    std::stringstream efs(argv[7]);
    std::string item;
    bool first = true;
    while (std::getline(efs, item, ',')) {
        int ef = std::stoi(item);
        index->setEf(ef);
        for (size_t i = 0; i < std::min<size_t>(50, nq); i++) index->searchKnn(&q[i * d], k);
        double best = 1e300;
        size_t hits = 0;
        std::vector<std::vector<hnswlib::labeltype>> found(nq);
        for (int r = 0; r < repeats; r++) {
            double c0 = cpu_seconds();
            for (size_t i = 0; i < nq; i++) {
                auto result = index->searchKnn(&q[i * d], k);
                found[i].clear();
                while (!result.empty()) { found[i].push_back(result.top().second); result.pop(); }
            }
            best = std::min(best, cpu_seconds() - c0);
        }
        for (size_t i = 0; i < nq; i++) {
            std::set<int> t(&truth[i * k], &truth[i * k] + k);
            for (auto label : found[i]) hits += t.count(int(label));
        }
        sweep << (first ? "" : ",") << "{\"ef\":" << ef << ",\"recall\":" << double(hits) / (nq * k) << ",\"qps\":" << nq / best << "}";
        first = false;
    }
    printf("{\"build_seconds\":%f,\"build_cpu_seconds\":%f,\"file_bytes_per_vector\":%f,\"resident_bytes_per_vector\":%f,\"sweep\":[%s]}\n",
           build, build_cpu, file_bytes, double(resident_bytes) / n, sweep.str().c_str());
    delete index;
    return 0;
}
