plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "edgezoo.demo"
    compileSdk = 35

    defaultConfig {
        applicationId = "edgezoo.demo"
        minSdk = 24
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
    }

    buildTypes {
        release {
            isMinifyEnabled = false
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    // Keep .tflite files uncompressed so the interpreter can memory-map them from the APK.
    androidResources {
        noCompress += "tflite"
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    implementation(project(":core"))
    // LiteRT (formerly TensorFlow Lite): the org.tensorflow.lite.Interpreter signature API.
    implementation("com.google.ai.edge.litert:litert:2.1.0")
}
