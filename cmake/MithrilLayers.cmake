# The layers of src/ and what each may include: the one table of the
# dependency rules (ARCHITECTURE.md, "Dependency rules", shows the same rows;
# tests/install/check_layers.py keeps the two equal and proves the rules bite).
#
# Columns: the layer; its folder under src/; the layers it builds on directly
# (what those see comes with them); the public headers (include/mithril/) it
# implements; public headers of layers above it that it may include anyway.
#
# mithril_layer() compiles a layer as an OBJECT library `mithril_<layer>` on
# an include view: symbolic links in the build tree to exactly its own folder,
# the folders of the layers it sees, and their public headers. An #include of
# anything else ("core/cache_impl.h" from src/index/, <mithril/cache.h> from
# src/cas/) fails to compile. Two layers may share a folder (frameworks and
# importer): the view holds folders, so each sees the other's headers. A
# relative "../core/x.h" is not caught; the review is.
set(MITHRIL_LAYER_TABLE
  # layer    | folder     | sees         | owns                                         | also sees
  "util       | util       | -            | export.h format.h log.h result.h version.h   | -"
  "env        | env        | util         | env.h                                        | -"
  "hash       | hash       | env          | digest.h                                     | -"
  "cas        | cas        | hash         | content_store.h                              | -"
  "key        | key        | hash         | key.h                                        | -"
  "manifest   | manifest   | key          | -                                            | entry.h"
  "config     | config     | env          | config.h                                     | remote.h entry.h key.h digest.h"
  "hooks      | hooks      | key config   | hooks.h                                      | -"
  "index      | index      | cas          | entry.h                                      | -"
  "root       | root       | util         | -                                            | -"
  "store      | store      | index root manifest key | -                             | stats.h"
  "frameworks | frameworks | index hooks root | -                                        | cache.h stats.h"
  "core       | core       | frameworks store | cache.h stats.h                          | -"
  "importer   | frameworks | core         | -                                            | -"
  "remote     | remote     | importer     | remote.h                                     | -"
  "session    | session    | remote hooks | session.h                                    | -"
)

# The cells of `layer`'s row: sets <prefix>_FOLDER, <prefix>_SEES, <prefix>_OWNS
# and <prefix>_ALSO in the caller's scope ("-" becomes an empty list).
function(mithril_layer_row layer prefix)
  foreach(row IN LISTS MITHRIL_LAYER_TABLE)
    string(REPLACE "|" ";" cells "${row}")
    list(GET cells 0 name)
    string(STRIP "${name}" name)
    if(name STREQUAL layer)
      set(i 1)
      foreach(key FOLDER SEES OWNS ALSO)
        list(GET cells ${i} value)
        string(STRIP "${value}" value)
        if(value STREQUAL "-")
          set(value "")
        endif()
        string(REGEX REPLACE " +" ";" value "${value}")
        set(${prefix}_${key} "${value}" PARENT_SCOPE)
        math(EXPR i "${i} + 1")
      endforeach()
      return()
    endif()
  endforeach()
  message(FATAL_ERROR "no layer '${layer}' in MITHRIL_LAYER_TABLE (cmake/MithrilLayers.cmake)")
endfunction()

# Every layer `layer` sees, itself included, into `out`.
function(mithril_layer_closure layer out)
  set(result "${layer}")
  set(todo "${layer}")
  while(todo)
    list(POP_FRONT todo current)
    mithril_layer_row(${current} row)
    foreach(dep IN LISTS row_SEES)
      if(NOT dep IN_LIST result)
        list(APPEND result ${dep})
        list(APPEND todo ${dep})
      endif()
    endforeach()
  endwhile()
  set(${out} "${result}" PARENT_SCOPE)
endfunction()

# A symbolic link `name` to `target` (once: two layers may share a folder).
function(_mithril_view_link target name)
  if(NOT EXISTS "${name}")
    file(CREATE_LINK "${target}" "${name}" SYMBOLIC)
  endif()
endfunction()

# mithril_layer(<layer> <source>...): the OBJECT library mithril_<layer> of
# the sources (relative to the calling folder), on the layer's include view.
# src/CMakeLists.txt puts every layer's objects into libmithril.
function(mithril_layer layer)
  set(view "${PROJECT_BINARY_DIR}/layer_views/${layer}")
  file(REMOVE_RECURSE "${view}")
  file(MAKE_DIRECTORY "${view}/mithril")
  mithril_layer_row(${layer} self)
  set(headers ${self_ALSO})
  mithril_layer_closure(${layer} layers)
  foreach(seen IN LISTS layers)
    mithril_layer_row(${seen} row)
    list(APPEND headers ${row_OWNS})
    _mithril_view_link("${PROJECT_SOURCE_DIR}/src/${row_FOLDER}" "${view}/${row_FOLDER}")
  endforeach()
  foreach(header IN LISTS headers)
    if(header STREQUAL "version.h")  # generated (cmake/version.h.in)
      set(source "${PROJECT_BINARY_DIR}/include/mithril/version.h")
    else()
      set(source "${PROJECT_SOURCE_DIR}/include/mithril/${header}")
    endif()
    _mithril_view_link("${source}" "${view}/mithril/${header}")
  endforeach()

  add_library(mithril_${layer} OBJECT ${ARGN})
  target_include_directories(mithril_${layer} PRIVATE "${view}")
  # Third-party headers are not part of the rules: every layer may use them.
  target_link_libraries(mithril_${layer} PRIVATE mithril_settings mithril_warnings mithril_blake3
                                                 nlohmann_json::nlohmann_json ${MITHRIL_LINKED_DEPS})
  set_target_properties(mithril_${layer} PROPERTIES
    POSITION_INDEPENDENT_CODE ON CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  set_property(GLOBAL APPEND PROPERTY MITHRIL_LAYER_TARGETS mithril_${layer})
endfunction()
