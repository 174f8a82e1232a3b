// A C++ program for tests/cxx_test.go, built dynamic against libstdc++:
// static constructors (run before main, in order, and their destructors
// after it), exceptions thrown and caught across frames and through
// std::thread, std::thread with std::mutex and std::condition_variable,
// iostreams, std::string, std::map and virtual dispatch. "crash" dies of a
// NULL write three frames deep inside a namespace and a class, for the
// crash report's demangled names; "throw" lets an exception escape, which
// ends in std::terminate and abort().
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

static std::vector<std::string> &ctorLog() {
	static std::vector<std::string> log;
	return log;
}

struct Registrar {
	std::string name;
	explicit Registrar(const char *n) : name(n) { ctorLog().push_back(name); }
	~Registrar() { std::printf("static destructor %s\n", name.c_str()); }
};

static Registrar first("first");
static Registrar second("second");
static int initialized = [] {
	ctorLog().push_back("lambda initializer");
	return 42;
}();

__attribute__((constructor)) static void early() { ctorLog().push_back("constructor attribute"); }

struct Shape {
	virtual ~Shape() = default;
	virtual double area() const = 0;
	virtual std::string name() const = 0;
};
struct Rect : Shape {
	double w, h;
	Rect(double w, double h) : w(w), h(h) {}
	double area() const override { return w * h; }
	std::string name() const override { return "rect"; }
};
struct Square : Rect {
	explicit Square(double s) : Rect(s, s) {}
	std::string name() const override { return "square"; }
};

struct ParseError : std::runtime_error {
	int pos;
	ParseError(const std::string &what, int pos) : std::runtime_error(what), pos(pos) {}
};

__attribute__((noinline)) static int parseDigit(const std::string &s, int i) {
	if (i >= (int)s.size() || s[i] < '0' || s[i] > '9')
		throw ParseError("not a digit: '" + s.substr(i, 1) + "'", i);
	return s[i] - '0';
}

__attribute__((noinline)) static int parseNumber(const std::string &s) {
	int n = 0;
	for (int i = 0; i < (int)s.size(); i++)
		n = n * 10 + parseDigit(s, i);
	return n;
}

namespace crashy {
struct Walker {
	int *target = nullptr;
	__attribute__((noinline)) void level3(int v) { *target = v; } // the NULL write
	__attribute__((noinline)) void level2(int v) { level3(v + 1); }
};
__attribute__((noinline)) void level1(Walker &w) { w.level2(41); }
} // namespace crashy

int main(int argc, char **argv) {
	std::cout << "static init:";
	for (auto &s : ctorLog())
		std::cout << " [" << s << "]";
	std::cout << " initialized=" << initialized << std::endl;

	if (argc > 1 && std::strcmp(argv[1], "crash") == 0) {
		std::cout << "about to crash" << std::endl;
		crashy::Walker w;
		crashy::level1(w);
		return 0;
	}
	if (argc > 1 && std::strcmp(argv[1], "throw") == 0) {
		std::cout << "throwing out of main" << std::endl;
		throw std::logic_error("uncaught");
	}

	// Exceptions: caught by type, rethrown, nested through frames.
	for (const char *in : {"1234", "12x4", ""}) {
		try {
			int n = parseNumber(in);
			std::cout << "parse \"" << in << "\" = " << n << std::endl;
		} catch (const ParseError &e) {
			std::cout << "parse \"" << in << "\": ParseError at " << e.pos << ": " << e.what() << std::endl;
		}
	}
	try {
		try {
			std::vector<int> v(3);
			v.at(10) = 1;
		} catch (const std::out_of_range &) {
			std::cout << "out_of_range caught, rethrowing" << std::endl;
			throw;
		}
	} catch (const std::exception &e) {
		std::cout << "rethrown caught as std::exception" << std::endl;
	}
	try {
		throw 7;
	} catch (int v) {
		std::cout << "int thrown: " << v << std::endl;
	}

	// Virtual dispatch and containers.
	std::vector<std::unique_ptr<Shape>> shapes;
	shapes.push_back(std::make_unique<Rect>(2, 3));
	shapes.push_back(std::make_unique<Square>(4));
	std::map<std::string, double> areas;
	for (auto &s : shapes)
		areas[s->name()] += s->area();
	for (auto &[k, v] : areas)
		std::cout << k << " area " << v << std::endl;

	// std::thread: workers sum ranges under a mutex; one throws and its
	// exception crosses back through std::exception_ptr.
	const int nthreads = 8;
	std::mutex mu;
	std::condition_variable cv;
	long long total = 0;
	int done = 0;
	std::atomic<int> started{0};
	std::exception_ptr failure;
	std::vector<std::thread> threads;
	for (int t = 0; t < nthreads; t++) {
		threads.emplace_back([&, t] {
			started++;
			thread_local long long mine = 0;
			try {
				for (int i = t * 1000; i < (t + 1) * 1000; i++)
					mine += i;
				if (t == 5)
					throw std::runtime_error("worker 5 failed on purpose");
			} catch (...) {
				std::lock_guard<std::mutex> g(mu);
				failure = std::current_exception();
			}
			std::lock_guard<std::mutex> g(mu);
			total += mine;
			done++;
			cv.notify_one();
		});
	}
	{
		std::unique_lock<std::mutex> l(mu);
		cv.wait(l, [&] { return done == nthreads; });
	}
	for (auto &th : threads)
		th.join();
	std::cout << "threads: " << started.load() << " started, total " << total << std::endl;
	try {
		if (failure)
			std::rethrow_exception(failure);
	} catch (const std::runtime_error &e) {
		std::cout << "from a thread: " << e.what() << std::endl;
	}
	std::cout << "hardware_concurrency > 0: " << (std::thread::hardware_concurrency() > 0) << std::endl;
	return 3;
}
