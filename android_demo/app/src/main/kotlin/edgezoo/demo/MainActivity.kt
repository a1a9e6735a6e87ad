package edgezoo.demo

import android.app.Activity
import android.os.Bundle
import android.os.Handler
import android.os.Looper
import android.view.View
import android.widget.AdapterView
import android.widget.ArrayAdapter
import android.widget.Button
import android.widget.EditText
import android.widget.Spinner
import android.widget.TextView
import edgezoo.ondevice.ZooError
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors

/**
 * Text box, translate button, translation, ms per token, the model's recipe, and a chooser
 * when several converted models are bundled. Loading and decoding run on one background
 * thread (an interpreter must not be used from two threads at once); results and errors are
 * posted back to the main thread. Greedy translations are shown as they grow, token by token
 * (the core's `Translator.translateStream`); beam search shows the finished translations.
 */
class MainActivity : Activity() {
    private val worker: ExecutorService = Executors.newSingleThreadExecutor()
    private val main = Handler(Looper.getMainLooper())

    // Touched only on the worker thread.
    private var loaded: BundledModel? = null

    private lateinit var modelChooser: Spinner
    private lateinit var searchChooser: Spinner
    private lateinit var modelInfo: TextView
    private lateinit var input: EditText
    private lateinit var translate: Button
    private lateinit var output: TextView
    private lateinit var stats: TextView
    private lateinit var error: TextView

    private var models: List<String> = emptyList()
    private var ready = false

    private data class SearchChoice(val label: String, val beamSize: Int) {
        override fun toString() = label
    }

    private val searches = listOf(
        SearchChoice("greedy", 1),
        SearchChoice("beam 4", 4),
        SearchChoice("beam 5", 5)
    )

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_main)
        modelChooser = findViewById(R.id.model_chooser)
        searchChooser = findViewById(R.id.search_chooser)
        modelInfo = findViewById(R.id.model_info)
        input = findViewById(R.id.input)
        translate = findViewById(R.id.translate)
        output = findViewById(R.id.output)
        stats = findViewById(R.id.stats)
        error = findViewById(R.id.error)

        searchChooser.adapter = ArrayAdapter(this, android.R.layout.simple_spinner_dropdown_item, searches)
        translate.setOnClickListener { startTranslation() }

        models = BundledModel.list(assets)
        if (models.isEmpty()) {
            findViewById<View>(R.id.model_row).visibility = View.GONE
            showError(getString(R.string.no_models))
            return
        }
        if (models.size == 1) {
            findViewById<View>(R.id.model_row).visibility = View.GONE // a chooser only with several recipes
            loadModel(models[0])
            return
        }
        modelChooser.adapter = ArrayAdapter(this, android.R.layout.simple_spinner_dropdown_item, models)
        // The initial selection (the first model) is reported too, which loads it.
        modelChooser.onItemSelectedListener = object : AdapterView.OnItemSelectedListener {
            override fun onItemSelected(parent: AdapterView<*>?, view: View?, position: Int, id: Long) =
                loadModel(models[position])

            override fun onNothingSelected(parent: AdapterView<*>?) = Unit
        }
    }

    override fun onDestroy() {
        worker.execute {
            loaded?.close()
            loaded = null
        }
        worker.shutdown()
        super.onDestroy()
    }

    private fun loadModel(name: String) {
        ready = false
        translate.isEnabled = false
        hideError()
        output.text = ""
        stats.text = ""
        modelInfo.text = getString(R.string.loading, name)
        val threads = Runtime.getRuntime().availableProcessors().coerceIn(1, 4)
        worker.execute {
            loaded?.close()
            loaded = null
            try {
                val model = BundledModel.load(assets, name, threads)
                loaded = model
                val (source, target) = model.languages()
                val info = getString(R.string.model_info, name, model.manifest.family, model.manifest.recipe, source, target)
                main.post {
                    modelInfo.text = info
                    ready = true
                    translate.isEnabled = true
                }
            } catch (e: ZooError) {
                main.post { modelFailed(e.message ?: e.toString()) }
            } catch (e: RuntimeException) { // the interpreter's own errors (IllegalArgumentException, ...)
                main.post { modelFailed("$name: ${e.javaClass.simpleName}: ${e.message}") }
            }
        }
    }

    private fun modelFailed(message: String) {
        modelInfo.text = ""
        showError(message)
    }

    private fun startTranslation() {
        if (!ready) return
        val text = input.text.toString()
        val search = searchChooser.selectedItem as SearchChoice
        translate.isEnabled = false
        hideError()
        output.text = getString(R.string.translating)
        stats.text = ""
        worker.execute {
            val model = loaded ?: return@execute
            try {
                model.model.resetCounters()
                val start = System.nanoTime()
                // One sentence per non-empty line, translated as a batch; blank lines are kept.
                val lines = text.split("\n")
                val sentences = lines.filter { it.isNotBlank() }
                val translated = when {
                    sentences.isEmpty() -> model.translator.translate(listOf(text), search.beamSize) // raises "empty input"
                    search.beamSize <= 1 -> streamLines(model, lines)
                    else -> model.translator.translate(sentences, search.beamSize)
                }
                val totalMs = (System.nanoTime() - start) / 1e6
                val iterator = translated.iterator()
                val result = lines.joinToString("\n") { if (it.isNotBlank()) iterator.next() else "" }
                val steps = model.model.decodeSteps
                val perToken = if (steps > 0) model.model.decodeNanos / 1e6 / steps else 0.0
                val line = getString(
                    R.string.stats, perToken, steps, search.label, model.model.encodeNanos / 1e6, totalMs
                )
                main.post {
                    output.text = result
                    stats.text = line
                    translate.isEnabled = true
                }
            } catch (e: ZooError) {
                main.post { translationFailed(e.message ?: e.toString()) }
            } catch (e: RuntimeException) {
                main.post { translationFailed("${e.javaClass.simpleName}: ${e.message}") }
            }
        }
    }

    /**
     * Greedy: translate [lines] one by one on the worker thread, showing the output as each
     * translation grows. Returns the translations of the non-blank lines.
     */
    private fun streamLines(model: BundledModel, lines: List<String>): List<String> {
        val shown = ArrayList<String>() // the output so far, one entry per line ("" for blank ones)
        val translations = ArrayList<String>()
        for (line in lines) {
            if (line.isBlank()) {
                shown.add("")
                continue
            }
            val translation = model.translator.translateStream(line) { partial ->
                val text = (shown + partial).joinToString("\n")
                main.post { output.text = text }
            }
            shown.add(translation)
            translations.add(translation)
        }
        return translations
    }

    private fun translationFailed(message: String) {
        output.text = ""
        showError(message)
        translate.isEnabled = true
    }

    private fun showError(message: String) {
        error.text = message
        error.visibility = View.VISIBLE
    }

    private fun hideError() {
        error.visibility = View.GONE
    }
}
