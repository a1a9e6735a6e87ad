// The pure Kotlin core: no Android dependency, so it builds and tests on any JVM.
// (run_tests.sh compiles the same sources with kotlinc 1.3 where Gradle is not available.)
plugins {
    id("org.jetbrains.kotlin.jvm")
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    testImplementation("junit:junit:4.13.2")
}
